// Key and token lifecycle with the real CLI against a test edge's
// management API, over HTTP, from a temporary directory with no wrangler on
// PATH (harness runCli): mint, list (paging), show, update, rotate with a
// grace period, revoke, delete, usage, the stale report, management tokens,
// --json, --local, the API's errors as one line, and pepper rotation.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startEdge, startRecordingOrigin, mintKey, raw, randomSecret, runCli } from "./harness.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const keyOf = (r) => r.stdout.match(/^key:\s+(pvk_\S+)$/m)?.[1];
const idOf = (r) => r.stdout.match(/^key id:\s+(key_\S+)$/m)?.[1];
const ok = (r) => (assert.equal(r.status, 0, r.out), r);

describe("lifecycle through the API", { timeout: 300_000 }, () => {
  const pepper = randomSecret();
  const root = randomSecret() + randomSecret();
  let origin, edge;
  /** The CLI against this edge (PROVGATE_EDGE_URL), as root unless another token is given. */
  const cli = (args, env = {}) => runCli(args, { PROVGATE_EDGE_URL: edge.url, PROVGATE_TOKEN: root, ...env });
  const get = (key, p = "/Users") => raw(`${edge.base}${p}`, { headers: { authorization: `Bearer ${key}` } });
  const mint = async (...args) => {
    const r = ok(await cli(["key", "mint", ...(args.includes("--scopes") ? [] : ["--scopes", "users:read"]), ...args]));
    return { id: idOf(r), key: keyOf(r), out: r };
  };
  const actions = (name) => edge.auditLines().filter((l) => l.action === name);

  before(async () => {
    origin = await startRecordingOrigin();
    edge = await startEdge({ originUrl: origin.url, pepper, vars: { ROOT_TOKEN: root } });
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
  });

  test("mint prints the key once and when it is usable everywhere; show and --json give the record", async () => {
    const minted = await mint("--label", "Okta prod", "--tenant", "acme", "--scopes", "users:read,users:write", "--expires", "30d", "--rate-per-minute", "120", "--burst", "10", "--metadata", "team=idp");
    assert.match(minted.id, /^key_/);
    assert.match(minted.out.stdout, /^usable everywhere by \d{4}-\d\d-\d\dT/m);
    assert.match(minted.out.stderr, /shown once/);
    assert.equal((await get(minted.key)).status, 200, "the minted key works at the edge");

    const shown = ok(await cli(["key", "show", minted.id, "--json"])).json();
    assert.equal(shown.status, "active");
    assert.deepEqual([shown.record.tenant, shown.record.burst, shown.record.rate_per_minute, shown.record.metadata], ["acme", 10, 120, { team: "idp" }]);
    assert.equal(Date.parse(shown.record.expires_at) - Date.parse(shown.record.created_at), 30 * 86_400_000);
    const text = ok(await cli(["key", "show", minted.id]));
    for (const field of [minted.id, "active", "Okta prod", "acme", "users:read,users:write", "team=idp", shown.etag]) assert.ok(text.stdout.includes(field), `show says ${field}:\n${text.stdout}`);

    const asJson = ok(await cli(["key", "mint", "--label", "json", "--scopes", "users:read", "--json"]));
    const doc = asJson.json();
    assert.match(doc.key, /^pvk_/);
    assert.ok(doc.key_id && doc.usable_everywhere_by && doc.record && doc.replayed === false, asJson.stdout);
    assert.equal(asJson.stdout.trim().split("\n").length, 1, "exactly one JSON document");
    assert.equal((await get(doc.key)).status, 200);
  });

  test("a retried mint with the same --idempotency-key makes one key; the replay shows no key", async () => {
    const args = ["key", "mint", "--label", "idem", "--scopes", "users:read", "--idempotency-key", `idem-${randomSecret()}`];
    const first = ok(await cli(args));
    const again = ok(await cli(args));
    assert.equal(idOf(again), idOf(first));
    assert.equal(keyOf(again), undefined, "a replay cannot show the key");
    assert.match(again.stderr, /Replayed/);
    const other = await cli([...args.slice(0, 3), "other", ...args.slice(4)]);
    assert.equal(other.status, 1);
    assert.match(other.stderr, /idempotency_key_reused/);
  });

  test("list follows the cursor through every page, filters, and stops at --limit", async () => {
    const tenant = `paging${Date.now()}`;
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await mint("--label", `page ${i}`, "--tenant", tenant)).id);
    const before = actions("key.list").length;
    const all = ok(await cli(["key", "list", "--tenant", tenant, "--page-size", "2", "--json"])).json();
    assert.deepEqual(all.items.map((k) => k.key_id).sort(), [...ids].sort());
    assert.equal(all.cursor, null);
    assert.ok(actions("key.list").length - before >= 3, "five keys two at a time is three pages at least");

    const some = ok(await cli(["key", "list", "--tenant", tenant, "--page-size", "2", "--limit", "3", "--json"])).json();
    assert.equal(some.items.length, 3);
    assert.notEqual(some.cursor, null, "where --limit stopped");
    const table = ok(await cli(["key", "list", "--tenant", tenant, "--limit", "1"]));
    assert.match(table.stdout, /^KEY ID\s+STATUS\s+TENANT/m);
    assert.match(table.stderr, /more keys follow/);

    const prefixed = ok(await cli(["key", "list", "--tenant", tenant, "--label-prefix", "page 3", "--json"])).json();
    assert.deepEqual(prefixed.items.map((k) => k.key_id), [ids[3]]);
    const text = ok(await cli(["key", "list", "--tenant", tenant]));
    for (const id of ids) assert.ok(text.stdout.includes(id), id);
    assert.equal(text.stdout.trim().split("\n").length, 6, "a header and one line per key");
  });

  test("update changes what it names and nothing else; a stale --if-match is refused", async () => {
    const { id, key } = await mint("--label", "to update", "--metadata", "team=a", "--metadata", "env=prod");
    const etag = ok(await cli(["key", "show", id, "--json"])).json().etag;
    const updated = ok(await cli(["key", "update", id, "--label", "updated", "--scopes", "users:read,groups:read", "--unset-metadata", "env", "--metadata", "owner=ops", "--json"])).json();
    assert.equal(updated.record.label, "updated");
    assert.deepEqual(updated.record.scopes, ["users:read", "groups:read"]);
    assert.deepEqual(updated.record.metadata, { team: "a", owner: "ops" });
    assert.equal((await get(key, "/Groups")).status, 200, "the new scope works");
    const stale = await cli(["key", "update", id, "--label", "lost", "--if-match", etag]);
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /precondition_failed/);
    assert.equal(ok(await cli(["key", "show", id, "--json"])).json().record.label, "updated", "nothing was written");
    const cleared = ok(await cli(["key", "update", id, "--expires", "never", "--allow-any-ip", "--rate-per-minute", "default", "--json"])).json();
    assert.equal(cleared.record.expires_at ?? null, null);
  });

  test("rotate with a short grace: both keys work, then only the new one", async () => {
    const old = await mint("--label", "Entra", "--allow-ip", "127.0.0.1", "--expires", "90d");
    const refused = await cli(["key", "rotate", old.id, "--grace", "30s"]);
    assert.equal(refused.status, 2, "no terminal, no --yes");
    assert.match(refused.stderr, /--yes/);
    const rotated = ok(await cli(["key", "rotate", old.id, "--grace", "30s", "--yes"]));
    assert.match(rotated.stdout, new RegExp(`^replaces ${old.id} \\(valid until \\S+\\)$`, "m"));
    assert.notEqual(keyOf(rotated), old.key);
    assert.equal((await get(old.key)).status, 200, "the old key works during the grace period");
    assert.equal((await get(keyOf(rotated))).status, 200);

    const shown = ok(await cli(["key", "show", idOf(rotated), "--json"])).json();
    assert.deepEqual(shown.record.scopes, ["users:read"], "same scopes");
    assert.deepEqual(shown.record.allow_ips, ["127.0.0.1/32"], "same allowlist");
    assert.equal(shown.record.rotated_from, old.id);
    assert.equal(Date.parse(shown.record.expires_at) - Date.parse(shown.record.created_at), 90 * 86_400_000, "same lifetime");

    const until = Date.parse(rotated.stdout.match(/valid until (\S+)\)/)[1]);
    await sleep(Math.max(0, until - Date.now()) + 1000);
    assert.equal((await get(old.key)).status, 401, "after the grace period only the new key works");
    assert.equal((await get(keyOf(rotated))).status, 200);
    const again = await cli(["key", "rotate", old.id, "--yes"]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /key_not_active/);
  });

  test("revoke is instant; delete refuses an active key and purges a revoked one", async () => {
    const { id, key } = await mint("--label", "to revoke");
    const active = await cli(["key", "delete", id, "--yes"]);
    assert.equal(active.status, 1);
    assert.match(active.stderr, /revoke it first.*\[409 key_active/);
    assert.equal((await get(key)).status, 200, "nothing was deleted");

    const revoked = ok(await cli(["key", "revoke", id, "--yes"]));
    assert.match(revoked.stdout, new RegExp(`revoked ${id}`));
    assert.equal((await get(key)).status, 401);
    assert.equal(ok(await cli(["key", "show", id, "--json"])).json().status, "revoked");
    assert.deepEqual(
      ok(await cli(["key", "list", "--status", "revoked", "--json"])).json().items.filter((k) => k.key_id === id).map((k) => k.status),
      ["revoked"],
    );
    const deleted = ok(await cli(["key", "delete", id, "--yes", "--json"])).json();
    assert.deepEqual(deleted, { key_id: id, deleted: true });
    const gone = await cli(["key", "show", id]);
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /not_found/);
    assert.equal((await get(key)).status, 401);
  });

  test("usage of a used and a never-used key; the stale report names what it cannot read", async () => {
    const used = await mint("--label", "used");
    for (let i = 0; i < 3; i++) assert.equal((await get(used.key)).status, 200);
    assert.equal((await get(used.key, "/Groups")).status, 403);
    const report = ok(await cli(["key", "usage", used.id, "--json"])).json();
    assert.equal(report.never_used, false);
    assert.equal(report.usage.total.allowed, 3);
    assert.equal(report.usage.total.scope_denied, 1);
    const text = ok(await cli(["key", "usage", used.id]));
    assert.match(text.stdout, /^allowed\s+3\s+3\s+3\s+3$/m);
    assert.match(text.stdout, /^ADDRESS\s+COUNTRY/m);
    const unused = await mint("--label", "never used");
    assert.match(ok(await cli(["key", "usage", unused.id])).stdout, /has never been used/);

    // A key minted 40 days ago and written around the API (no listing summary).
    const old = await mintKey(edge, pepper, { label: "old", scopes: "users:read", edit: (r) => ({ ...r, created_at: new Date(Date.now() - 40 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z") }) });
    const unread = await cli(["key", "usage", "--stale", "30d", "--json"]);
    assert.equal(unread.status, 1, "a key the report cannot read fails it");
    assert.ok(unread.json().errors.some((e) => e.key_id === old.keyId && e.problem === "summary_missing"), unread.stdout);
    assert.match(unread.stderr, new RegExp(`could not read .*${old.keyId}`));
    ok(await cli(["key", "update", old.keyId, "--repair"]));
    const stale = ok(await cli(["key", "usage", "--stale", "30d", "--json"])).json();
    const staleIds = stale.items.map((k) => k.key_id);
    assert.ok(staleIds.includes(old.keyId), "created 40 days ago, never used");
    assert.ok(!staleIds.includes(used.id) && !staleIds.includes(unused.id), "fresh keys are not stale");
    assert.match(ok(await cli(["key", "usage", "--stale", "30d"])).stdout, new RegExp(`^${old.keyId}\\s+active\\s+-\\s+never`, "m"));
  });

  test("management tokens: mint, list, a tenant-restricted token sees its tenant only, revoke is instant", async () => {
    const acme = await mint("--label", "acme key", "--tenant", "acme");
    const other = await mint("--label", "globex key", "--tenant", "globex");
    const minted = ok(await cli(["token", "mint", "--label", "acme admin UI", "--scopes", "keys:read,keys:write", "--tenant", "acme", "--expires", "1d"]));
    const token = minted.stdout.match(/^token:\s+(pvm_\S+)$/m)?.[1];
    const tokenId = minted.stdout.match(/^token id:\s+(tok_\S+)$/m)?.[1];
    assert.ok(token && tokenId, minted.out);
    const asAcme = { PROVGATE_TOKEN: token };

    const listed = ok(await cli(["key", "list", "--json"], asAcme)).json();
    assert.ok(listed.items.length > 0 && listed.items.every((k) => k.tenant === "acme"), "forced to its tenant");
    assert.ok(listed.items.some((k) => k.key_id === acme.id));
    const hidden = await cli(["key", "show", other.id], asAcme);
    assert.equal(hidden.status, 1);
    assert.match(hidden.stderr, /not_found/, "another tenant's key does not exist for it");
    const forbidden = await cli(["key", "mint", "--label", "x", "--scopes", "users:read", "--tenant", "globex"], asAcme);
    assert.equal(forbidden.status, 1);
    assert.match(forbidden.stderr, /forbidden/);
    assert.equal(forbidden.stderr.trim().split("\n").length, 1, "one line");
    const unscoped = await cli(["key", "revoke", acme.id, "--yes"], asAcme);
    assert.match(unscoped.stderr, /keys:revoke/, "names the missing scope");

    const tokens = ok(await cli(["token", "list", "--json"])).json();
    assert.ok(tokens.items.some((t) => t.token_id === tokenId && t.tenant === "acme"));
    const shown = ok(await cli(["token", "show", tokenId, "--json"])).json();
    assert.deepEqual(shown.record.scopes, ["keys:read", "keys:write"]);
    assert.match(ok(await cli(["token", "list"])).stdout, new RegExp(`^${tokenId}\\s+active\\s+acme`, "m"));

    ok(await cli(["token", "revoke", tokenId, "--yes"]));
    const refused = await cli(["key", "list"], asAcme);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /PROVGATE_TOKEN is not a valid.*\[401 unauthorized/);
  });

  test("the API's errors are one line an operator can act on, without secrets", async () => {
    const wrong = await cli(["key", "list"], { PROVGATE_TOKEN: randomSecret() + randomSecret() });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /^provgate: key list: .*\[401 unauthorized, request [0-9a-f]+\]\n$/);
    const missing = await cli(["key", "show", "key_doesnotexist"]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^provgate: key show: Not found.*\[404 not_found/);
    const plain = await startEdge({ originUrl: origin.url, pepper });
    try {
      const off = await runCli(["key", "list"], { PROVGATE_EDGE_URL: plain.url, PROVGATE_TOKEN: root });
      assert.equal(off.status, 1);
      assert.match(off.stderr, /management API is not turned on there \(set the ROOT_TOKEN secret/);
    } finally {
      await plain.stop();
    }
  });

  test("--local talks to 127.0.0.1 with the ROOT_TOKEN of .dev.vars; --edge never reads it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "provgate-devvars-"));
    try {
      writeFileSync(path.join(dir, ".dev.vars"), `PEPPER=${pepper}\nROOT_TOKEN=${root}\n`);
      const port = new URL(edge.url).port;
      const local = await runCli(["key", "mint", "--local", "--label", "local", "--scopes", "users:read", "--json"], { PROVGATE_LOCAL_PORT: port }, { cwd: dir });
      assert.equal(local.status, 0, local.out);
      assert.equal((await get(local.json().key)).status, 200);
      const noToken = await runCli(["key", "list", "--edge", edge.url], {}, { cwd: dir });
      assert.equal(noToken.status, 2, "a .dev.vars is no token for --edge");
      assert.match(noToken.stderr, /PROVGATE_TOKEN/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("pepper rotation", { timeout: 240_000 }, () => {
  test("keys under PEPPER_PREVIOUS keep working until rotated; list shows their pepper; then the old pepper can go", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "provgate-pepper-"));
    const oldPepper = randomSecret();
    const newPepper = randomSecret();
    const root = randomSecret() + randomSecret();
    const origin = await startRecordingOrigin();
    const kvPersist = path.join(dir, "kv");
    const start = (vars, pepper) => startEdge({ originUrl: origin.url, pepper, kvPersist, vars: { ROOT_TOKEN: root, ...vars } });
    const get = (edge, k) => raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${k}` } });
    const cli = (edge, args) => runCli(args, { PROVGATE_EDGE_URL: edge.url, PROVGATE_TOKEN: root });
    try {
      const before = await start({}, oldPepper);
      const legacy = ok(await cli(before, ["key", "mint", "--label", "legacy", "--scopes", "users:read"]));
      await before.stop();

      const during = await start({ PEPPER_PREVIOUS: oldPepper }, newPepper);
      assert.equal((await get(during, keyOf(legacy))).status, 200, "an old-pepper key works during the rotation");
      const fresh = ok(await cli(during, ["key", "mint", "--label", "fresh", "--scopes", "users:read"]));
      const listed = ok(await cli(during, ["key", "list", "--json"])).json().items;
      const pepperOf = (id) => listed.find((k) => k.key_id === id).pepper;
      assert.notEqual(pepperOf(idOf(legacy)), pepperOf(idOf(fresh)), "list names the keys still to rotate");
      const rotated = ok(await cli(during, ["key", "rotate", idOf(legacy), "--grace", "1h", "--yes"]));
      await during.stop();

      const after = await start({}, newPepper);
      try {
        assert.equal((await get(after, keyOf(legacy))).status, 401, "without PEPPER_PREVIOUS the unrotated key is unknown");
        assert.equal((await get(after, keyOf(rotated))).status, 200, "its replacement works");
        assert.equal((await get(after, keyOf(fresh))).status, 200);
      } finally {
        await after.stop();
      }
    } finally {
      await origin.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
