// Usage monitoring per key, end to end: the guard counts every request of
// a verified key by outcome, remembers its sources, reports them through
// the admin route and the CLI, flags new sources once, and stays bounded.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startEdge, startRecordingOrigin, raw, randomSecret, runCli } from "./harness.mjs";

const adminToken = randomSecret() + randomSecret();
const pepper = randomSecret();
const cli = (args, env = {}) => runCli(args, { ADMIN_TOKEN: adminToken, PEPPER: pepper, ...env });
const idOf = (r) => r.stdout.match(/key id:\s+(key_\S+)/)?.[1];
const keyOf = (r) => r.stdout.match(/key:\s+(pvk_\S+)/)?.[1];

describe("usage per key", { timeout: 240_000 }, () => {
  let dir, origin, edge;
  const local = () => ["--local", "--persist-to", dir];
  const admin = (body) =>
    raw(`${edge.url}/_provgate/admin/usage`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const usageOf = async (id) => (await admin({ key_ids: [id] })).json().usage[id];
  const mint = async (...extra) => {
    const r = await cli(["key", "mint", ...local(), "--label", "usage test", ...extra]);
    assert.equal(r.status, 0, r.out);
    return { id: idOf(r), key: keyOf(r) };
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "provgate-usage-"));
    // The origin answers 404 for one user, 200 otherwise.
    origin = await startRecordingOrigin((req) => (req.url.includes("/Users/missing") ? { status: 404, body: "{}" } : {}));
    // Requests here play remote clients (CF-Connecting-IP) over the harness's
    // plain HTTP; on Cloudflare they would arrive over HTTPS.
    edge = await startEdge({ originUrl: origin.url, pepper, kvPersist: path.join(dir, "v3/kv"), vars: { ADMIN_TOKEN: adminToken, REQUIRE_HTTPS: "false" } });
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("counts match the traffic sent, by outcome, with the origin's answers", async () => {
    const { id, key } = await mint("--scopes", "users:read", "--rate-per-minute", "1", "--burst", "4", "--allow-ip", "192.0.2.0/24,198.51.100.0/24");
    const send = (method, p, ip = "192.0.2.10") =>
      raw(`${edge.base}${p}`, { method, headers: { authorization: `Bearer ${key}`, "cf-connecting-ip": ip, "content-type": "application/scim+json" }, body: method === "GET" ? undefined : "{}" });
    const statuses = [];
    statuses.push((await send("GET", "/Users")).status); // allowed, origin 200
    statuses.push((await send("GET", "/Users/missing")).status); // allowed, origin 404
    statuses.push((await send("POST", "/Users")).status); // scope denied
    statuses.push((await send("GET", "/Users", "203.0.113.5")).status); // address denied
    statuses.push((await send("GET", "/Users")).status); // allowed
    statuses.push((await send("GET", "/Users")).status); // allowed: the burst of 4 is used up
    statuses.push((await send("GET", "/Users")).status); // rate limited
    assert.deepEqual(statuses, [200, 404, 403, 403, 200, 200, 429]);
    await raw(`${edge.base}/Users`, { headers: { authorization: "Bearer pvk_garbage" } }); // no key id: not this key's usage

    const u = await usageOf(id);
    assert.deepEqual(u.total, {
      allowed: 4,
      rate_limited: 1,
      scope_denied: 1,
      ip_denied: 1,
      // The origin's answers reach the guard with the key's next call from
      // the same isolate: the rate-limited call brought the last forward's.
      origin_ok: 3,
      origin_client_error: 1,
    });
    assert.deepEqual(u.windows["1h"], u.total, "all of it within the hour");
    assert.deepEqual(u.windows["30d"], u.total);
    assert.equal(u.last_origin_status, 200);
    assert.ok(Date.parse(u.last_used) <= Date.now() && Date.now() - Date.parse(u.last_used) < 60_000);
    assert.ok(u.last_allowed && u.first_used);
    assert.equal(u.last_source.ip, "192.0.2.10");
    assert.deepEqual(
      u.sources.map((s) => [s.source.ip, s.count]),
      [["192.0.2.10", 6], ["203.0.113.5", 1]],
    );
    assert.equal(u.revoked_at_edge, false);

    // The CLI reads the same, through the same admin route.
    const shown = await cli(["key", "usage", ...local(), id, "--edge-url", edge.url, "--json"]);
    assert.equal(shown.status, 0, shown.out);
    assert.deepEqual(JSON.parse(shown.stdout).usage.total, u.total);
    const text = await cli(["key", "usage", ...local(), id, "--edge-url", edge.url]);
    assert.match(text.stdout, /last used:\s+\S+ from 192\.0\.2\.10/);
    assert.match(text.stdout, /^allowed\s+4\s+4\s+4\s+4$/m);
    assert.match(text.stdout, /^scope_denied\s+1\s+1\s+1\s+1$/m);
    assert.match(text.stdout, /^192\.0\.2\.10\s+\S+\s+\S+\s+\S+\s+\S+\s+6$/m, "the sources table names each address and its count");
  });

  test("a request from a new address or country is logged once, at warning level", async () => {
    const { id, key } = await mint("--scopes", "users:read");
    const from = (ip, cf) => edge.mf.dispatchFetch(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key}`, "cf-connecting-ip": ip }, cf });
    for (const [ip, cf] of [
      ["192.0.2.20", { country: "NZ", asn: 64500 }], // first use: the baseline, not an anomaly
      ["192.0.2.20", { country: "NZ", asn: 64500 }],
      ["198.51.100.9", { country: "NZ", asn: 64500 }], // new address
      ["198.51.100.9", { country: "NZ", asn: 64500 }],
      ["192.0.2.20", { country: "RU", asn: 64501 }], // new country
      ["192.0.2.20", { country: "RU", asn: 64501 }],
    ]) {
      const res = await from(ip, cf);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    let warned = [];
    for (let i = 0; i < 50 && warned.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      warned = edge.eventLines("new_source").filter((l) => l.key_id === id);
    }
    assert.deepEqual(
      warned.map((l) => [l.source.ip, l.source.country]),
      [["198.51.100.9", "NZ"], ["192.0.2.20", "RU"]],
    );
    const levels = edge.logs.filter((l) => l.message.includes('"new_source"') && l.message.includes(id)).map((l) => l.level);
    assert.deepEqual(levels, ["warn", "warn"]);
    const u = await usageOf(id);
    assert.deepEqual(u.countries, ["RU", "NZ"]);
    assert.deepEqual(u.last_source, { ip: "192.0.2.20", country: "RU", asn: 64501 });
  });

  test("the stale report lists an unused key and not a used one", async () => {
    // Both minted 40 days ago (the CLI's clock is injectable); one is used now.
    const past = new Date(Date.now() - 40 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
    const unused = await mint("--scopes", "users:read", ...[]);
    const r1 = await cli(["key", "mint", ...local(), "--label", "old unused", "--scopes", "users:read"], { PROVGATE_NOW: past });
    const r2 = await cli(["key", "mint", ...local(), "--label", "old used", "--scopes", "users:read"], { PROVGATE_NOW: past });
    const oldUnused = idOf(r1);
    const oldUsed = idOf(r2);
    const res = await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${keyOf(r2)}` } });
    assert.equal(res.status, 200);
    const report = await cli(["key", "usage", ...local(), "--stale", "30d", "--edge-url", edge.url, "--json"]);
    assert.equal(report.status, 0, report.out);
    const stale = report.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const ids = stale.map((s) => s.key_id);
    assert.ok(ids.includes(oldUnused), "unused for 40 days: listed");
    assert.ok(!ids.includes(oldUsed), "used just now: not listed");
    assert.ok(!ids.includes(unused.id), "never used, but minted just now: not listed");
    assert.equal(stale.find((s) => s.key_id === oldUnused).last_used, null);

    // `key list` shows the last use beside every key.
    const list = await cli(["key", "list", ...local(), "--edge-url", edge.url, "--json"]);
    assert.equal(list.status, 0, list.out);
    const rows = Object.fromEntries(list.stdout.trim().split("\n").map((l) => JSON.parse(l)).map((r) => [r.key_id, r]));
    assert.equal(rows[oldUnused].last_used, null);
    assert.ok(Date.parse(rows[oldUsed].last_used) > Date.now() - 60_000);
    // Without an edge to ask, the listing still works and says so.
    const offline = await cli(["key", "list", ...local(), "--edge-url", "http://127.0.0.1:9"]);
    assert.equal(offline.status, 0, offline.out);
    assert.match(offline.stderr, /last use unknown/);
  });

  test("the admin route takes only the admin token, and well-formed ids", async () => {
    const wrong = await raw(`${edge.url}/_provgate/admin/usage`, { method: "POST", headers: { authorization: "Bearer nope" }, body: '{"key_ids":["key_aaaaaaaaaaaaaaaa"]}' });
    assert.equal(wrong.status, 401);
    assert.equal((await edge.auditFor(wrong.headers["x-request-id"])).reason, "admin_unauthorized");
    for (const body of ['{"key_ids":[]}', '{"key_ids":["pvk_notanid"]}', "{}", JSON.stringify({ key_ids: Array(101).fill("key_aaaaaaaaaaaaaaaa") })]) {
      const res = await admin(JSON.parse(body));
      assert.equal(res.status, 400, body.slice(0, 40));
      assert.equal((await edge.auditFor(res.headers["x-request-id"])).reason, "admin_bad_request");
    }
    const ok = await admin({ key_ids: ["key_aaaaaaaaaaaaaaaa"] });
    assert.equal(ok.status, 200);
    assert.equal((await edge.auditFor(ok.headers["x-request-id"])).reason, "admin_usage");
    assert.equal(ok.json().usage.key_aaaaaaaaaaaaaaaa.last_used, null, "a key never seen has no use");
  });

  test("the record stays bounded under a long run from many addresses", async () => {
    const { id, key } = await mint("--scopes", "users:read", "--rate-per-minute", "100000", "--burst", "100000");
    const batch = [];
    for (let i = 0; i < 600; i++) {
      const ip = `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`;
      batch.push(raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key}`, "cf-connecting-ip": ip } }));
      if (batch.length === 20) (await Promise.all(batch.splice(0))).forEach((r) => assert.equal(r.status, 200));
    }
    const u = await usageOf(id);
    assert.equal(u.total.allowed, 600);
    assert.equal(u.sources.length, 16, "only the 16 most recent addresses are kept");
    assert.ok(JSON.stringify(u).length < 8 * 1024, `report is ${JSON.stringify(u).length} bytes`);
    assert.equal(edge.eventLines("new_source").filter((l) => l.key_id === id).length, 599, "every new address but the first is flagged");
  });
});
