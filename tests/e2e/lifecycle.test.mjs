// Key lifecycle with the real CLI on the local KV store the edge reads:
// mint, list, show, rotate with grace, revoke, pepper rotation, and a
// crash between the two writes of a mint.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT, startEdge, startRecordingOrigin, raw, randomSecret, runCli } from "./harness.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rootToken = randomSecret() + randomSecret();

const cli = (args, env = {}) => runCli(args, { ROOT_TOKEN: rootToken, ...env });
const keyOf = (r) => r.stdout.match(/key:\s+(pvk_\S+)/)?.[1];
const idOf = (r) => r.stdout.match(/key id:\s+(key_\S+)/)?.[1];

describe("lifecycle on one store", { timeout: 240_000 }, () => {
  let dir, origin, edge;
  const pepper = randomSecret();
  const local = () => ["--local", "--persist-to", dir];
  const get = (k) => raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${k}` } });
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "provgate-life-"));
    origin = await startRecordingOrigin();
    edge = await startEdge({ originUrl: origin.url, pepper, kvPersist: path.join(dir, "v3/kv"), vars: { ROOT_TOKEN: rootToken } });
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("mint, list and show: every field an operator needs, never a key or a hash", async () => {
    const minted = await cli(["key", "mint", ...local(), "--label", "Okta prod", "--tenant", "acme", "--scopes", "users:read,users:write", "--expires", "30d", "--rate-per-minute", "120", "--burst", "10"], { PEPPER: pepper });
    assert.equal(minted.status, 0, minted.out);
    const key = keyOf(minted);
    assert.equal((await get(key)).status, 200);

    const list = await cli(["key", "list", ...local()], { PEPPER: pepper });
    assert.equal(list.status, 0, list.out);
    for (const field of [idOf(minted), "active", "acme", "users:read,users:write", "current", "120", "10", "Okta prod"]) {
      assert.ok(list.stdout.includes(field), `list shows ${field}:\n${list.stdout}`);
    }
    const show = await cli(["key", "show", ...local(), idOf(minted), "--json"], { PEPPER: pepper });
    const shown = JSON.parse(show.stdout);
    assert.deepEqual([shown.key_id, shown.tenant, shown.status, shown.burst], [idOf(minted), "acme", "active", 10]);
    for (const out of [list.out, show.out]) {
      assert.ok(!out.includes(key) && !out.includes("hash:") && !out.includes(pepper), "no key, hash or pepper");
    }
  });

  test("rotate with a short grace: both keys work, then only the new one", async () => {
    const old = await cli(["key", "mint", ...local(), "--label", "Entra", "--scopes", "users:read", "--allow-ip", "127.0.0.1", "--expires", "90d"], { PEPPER: pepper });
    // Each CLI step runs wrangler a few times (seconds each on a busy machine), so the grace is 40 s.
    const rotated = await cli(["key", "rotate", ...local(), idOf(old), "--grace", "40s"], { PEPPER: pepper });
    assert.equal(rotated.status, 0, rotated.out);
    assert.match(rotated.stdout, new RegExp(`replaces ${idOf(old)}`));
    assert.notEqual(keyOf(rotated), keyOf(old));
    assert.equal((await get(keyOf(old))).status, 200, "the old key works during the grace period");
    assert.equal((await get(keyOf(rotated))).status, 200);

    const shown = JSON.parse((await cli(["key", "show", ...local(), idOf(rotated), "--json"], { PEPPER: pepper })).stdout);
    assert.deepEqual(shown.scopes, ["users:read"], "same scopes");
    assert.deepEqual(shown.allow_ips, ["127.0.0.1/32"], "same allowlist");
    assert.equal(shown.rotated_from, idOf(old));
    const lifetime = Date.parse(shown.expires_at) - Date.parse(shown.created_at);
    assert.equal(lifetime, 90 * 86_400_000, "same lifetime");

    const until = Date.parse(rotated.stdout.match(/valid until (\S+)\)/)[1]);
    await sleep(Math.max(0, until - Date.now()) + 1000);
    assert.equal((await get(keyOf(old))).status, 401, "after the grace period only the new key works");
    assert.equal((await get(keyOf(rotated))).status, 200);
  });

  test("revoke, and the error paths: unknown ids, bad input, nothing written", async () => {
    const k = await cli(["key", "mint", ...local(), "--label", "to revoke"], { PEPPER: pepper });
    const revoked = await cli(["key", "revoke", ...local(), idOf(k), "--edge-url", edge.url], { PEPPER: pepper });
    assert.equal(revoked.status, 0, revoked.out);
    assert.equal((await get(keyOf(k))).status, 401);
    const again = await cli(["key", "rotate", ...local(), idOf(k)], { PEPPER: pepper });
    assert.equal(again.status, 1);
    assert.match(again.stderr, /is revoked/);

    const before = (await cli(["key", "list", ...local(), "--json"], { PEPPER: pepper })).stdout;
    for (const [args, message] of [
      [["key", "show", ...local(), "key_nope"], /no key key_nope/],
      [["key", "rotate", ...local(), "key_nope"], /no key key_nope/],
      [["key", "revoke", ...local(), "key_nope"], /no key key_nope/],
      [["key", "show", ...local(), "pvk_notanid"], /not a key id/],
      [["key", "rotate", ...local(), idOf(k), "--grace", "soon"], /invalid --grace/],
      [["key", "mint", ...local(), "--label", "x", "--scopes", "users:admin"], /invalid scope/],
      [["key", "mint", ...local(), "--label", "x", "--allow-ip", "300.1.1.1"], /invalid --allow-ip/],
    ]) {
      const r = await cli(args, { PEPPER: pepper });
      assert.equal(r.status, 1, `${args.join(" ")}: ${r.out}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
    }
    assert.equal((await cli(["key", "list", ...local(), "--json"], { PEPPER: pepper })).stdout, before, "nothing was written");
  });

  test("a crash between the index and the record leaves no working key, and list shows it", async () => {
    // A wrangler that fails on its second `kv key put`, as if the machine died there.
    const counter = path.join(dir, "puts");
    const fake = path.join(dir, "wrangler-crash.sh");
    writeFileSync(
      fake,
      `#!/bin/sh\nif [ "$2" = key ] && [ "$3" = put ]; then n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; [ $n -ge 2 ] && { echo crash >&2; exit 1; }; fi\nexec ${path.join(ROOT, "node_modules/.bin/wrangler")} "$@"\n`,
    );
    chmodSync(fake, 0o755);
    const crashed = await cli(["key", "mint", ...local(), "--label", "crash"], { PEPPER: pepper, PROVGATE_WRANGLER: fake });
    assert.equal(crashed.status, 1);
    assert.equal(keyOf(crashed), undefined, "no key was handed out");
    const list = await cli(["key", "list", ...local(), "--json"], { PEPPER: pepper });
    const broken = list.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((k) => k.status === "broken");
    assert.equal(broken.length, 1);
    assert.match(broken[0].problem, /incomplete/);
  });
});

describe("pepper rotation", { timeout: 240_000 }, () => {
  test("keys minted under PEPPER_PREVIOUS keep working until rotated; then the old pepper can go", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "provgate-pepper-"));
    const oldPepper = randomSecret();
    const newPepper = randomSecret();
    const origin = await startRecordingOrigin();
    const kvPersist = path.join(dir, "v3/kv");
    const local = ["--local", "--persist-to", dir];
    const during = await startEdge({ originUrl: origin.url, pepper: newPepper, kvPersist, vars: { PEPPER_PREVIOUS: oldPepper } });
    try {
      const legacy = await cli(["key", "mint", ...local, "--label", "legacy"], { PEPPER: oldPepper });
      const fresh = await cli(["key", "mint", ...local, "--label", "fresh"], { PEPPER: newPepper });
      const get = (edge, k) => raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${k}` } });
      assert.equal((await get(during, keyOf(legacy))).status, 200, "old-pepper key works during the rotation");
      assert.equal((await get(during, keyOf(fresh))).status, 200);

      const env = { PEPPER: newPepper, PEPPER_PREVIOUS: oldPepper };
      const listed = (await cli(["key", "list", ...local, "--json"], env)).stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(listed.find((k) => k.key_id === idOf(legacy)).pepper, "previous", "list names the keys still to rotate");
      assert.equal(listed.find((k) => k.key_id === idOf(fresh)).pepper, "current");

      const rotated = await cli(["key", "rotate", ...local, idOf(legacy), "--grace", "1h"], env);
      assert.equal(rotated.status, 0, rotated.out);
      await during.stop();

      const after = await startEdge({ originUrl: origin.url, pepper: newPepper, kvPersist });
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
