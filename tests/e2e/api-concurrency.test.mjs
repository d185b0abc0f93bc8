// The management API under concurrency: twenty PATCHes of one key at once
// lose no update (the key's records writer serialises and batches them),
// retried mints with an Idempotency-Key never make two keys (sequential or
// concurrent retries), and bad tokens are throttled like bad keys.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startEdge, startRecordingOrigin, apiClient, raw, randomSecret } from "./harness.mjs";

const pepper = randomSecret();
const rootToken = randomSecret() + randomSecret();

describe("concurrent API calls", { timeout: 300_000 }, () => {
  let origin, edge, api;
  before(async () => {
    origin = await startRecordingOrigin();
    edge = await startEdge({ originUrl: origin.url, pepper, authFailureLimit: 5, vars: { ROOT_TOKEN: rootToken, REQUIRE_HTTPS: "false" } }); // remote callers over the harness's plain HTTP
    api = apiClient(edge, rootToken);
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
  });

  test("20 PATCHes at once, each changing another field or metadata entry: none is lost", async () => {
    const m = (await api("POST", "/keys", { body: { label: "busy", tenant: "acme", scopes: ["users:read"] } })).json();
    const patches = [
      { label: "busy, patched" },
      { burst: 7 },
      { rate_per_minute: 77 },
      { not_before: "2026-01-01T00:00:00Z" },
      { allow_ips: ["192.0.2.0/24"] },
      ...Array.from({ length: 15 }, (_, i) => ({ metadata: { [`entry${i}`]: `value ${i}` } })),
    ];
    assert.equal(patches.length, 20);
    const started = performance.now();
    const results = await Promise.all(patches.map((body) => api("PATCH", `/keys/${m.key_id}`, { body })));
    const elapsed = performance.now() - started;
    for (const res of results) assert.equal(res.status, 200, res.text);
    // Each answer holds the record as of its own change (and all before it in its batch).
    results.forEach((res, i) => {
      const [field, value] = Object.entries(patches[i])[0];
      if (field === "metadata") {
        const [name, v] = Object.entries(value)[0];
        assert.equal(res.json().record.metadata[name], v);
      } else if (field !== "allow_ips") {
        assert.deepEqual(res.json().record[field], value);
      }
    });
    const final = (await api("GET", `/keys/${m.key_id}`)).json().record;
    assert.deepEqual([final.label, final.burst, final.rate_per_minute, final.not_before, final.allow_ips], ["busy, patched", 7, 77, "2026-01-01T00:00:00Z", ["192.0.2.0/24"]]);
    assert.deepEqual(Object.keys(final.metadata).sort(), Array.from({ length: 15 }, (_, i) => `entry${i}`).sort(), "every metadata entry");
    const index = JSON.parse(await edge.kv.get(`id:${m.key_id}`));
    assert.deepEqual(JSON.parse(await edge.kv.get(index.record)), final, "KV holds the same");
    const summary = (await edge.kv.getWithMetadata(`tenant:acme:${m.key_id}`)).metadata;
    assert.equal(summary.l, "busy, patched", "and the summary");
    // KV takes one write per entry per second: the writer batches, so twenty patches take a few seconds, not twenty.
    assert.ok(elapsed < 15_000, `${Math.round(elapsed)} ms`);
  });

  test("a retried mint with the same Idempotency-Key and body replays the first result, without the key", async () => {
    const body = { label: "idempotent", tenant: "idem", scopes: ["users:read"] };
    const headers = { "idempotency-key": "0f5e3c2a-retry" };
    const first = await api("POST", "/keys", { body, headers });
    assert.equal(first.status, 201, first.text);
    const again = await api("POST", "/keys", { body: { scopes: ["users:read"], tenant: "idem", label: "idempotent" }, headers });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.headers["idempotent-replayed"], "true");
    assert.deepEqual([again.json().key_id, again.json().replayed, "key" in again.json()], [first.json().key_id, true, false]);
    assert.deepEqual(again.json().record, first.json().record);
    const other = await api("POST", "/keys", { body: { ...body, label: "another" }, headers });
    assert.deepEqual([other.status, other.json().type], [422, "urn:provgate:problem:idempotency_key_reused"]);
    const listed = (await api("GET", "/keys?tenant=idem")).json().items;
    assert.equal(listed.length, 1, "one key");
    const line = await edge.auditFor(again.headers["x-request-id"]);
    assert.deepEqual([line.action, line.reason, line.status], ["key.mint", "api_ok", 200]);
  });

  test("ten concurrent retries of one mint make one key; the others replay it or are told to retry", async () => {
    const body = { label: "race", tenant: "race", scopes: ["users:read"] };
    const headers = { "idempotency-key": "race-1" };
    const results = await Promise.all(Array.from({ length: 10 }, () => api("POST", "/keys", { body, headers })));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, 1, `statuses ${statuses}`);
    assert.ok(statuses.every((s) => [200, 201, 409].includes(s)), `statuses ${statuses}`);
    for (const r of results.filter((r) => r.status === 409)) {
      assert.equal(r.json().type, "urn:provgate:problem:idempotency_in_progress");
      assert.equal(r.headers["retry-after"], "1");
    }
    const id = results.find((r) => r.status === 201).json().key_id;
    for (const r of results.filter((r) => r.status === 200)) assert.equal(r.json().key_id, id);
    const settled = await api("POST", "/keys", { body, headers });
    assert.deepEqual([settled.status, settled.json().key_id], [200, id]);
    assert.equal((await api("GET", "/keys?tenant=race")).json().items.length, 1, "one key in KV");
    const records = (await edge.mf.getKVNamespace("KEYS").then((kv) => kv.list({ prefix: "hash:" }))).keys.length;
    const indexes = (await api("GET", "/keys?limit=1000")).json().items.length;
    assert.equal(records, indexes, "no record without its index");
  });

  test("rotation honours the Idempotency-Key too", async () => {
    const old = (await api("POST", "/keys", { body: { label: "rot", scopes: ["*"] } })).json();
    const headers = { "idempotency-key": `rotate-${old.key_id}-1` };
    const first = await api("POST", `/keys/${old.key_id}/rotate`, { body: { grace: "1h" }, headers });
    assert.equal(first.status, 201, first.text);
    const again = await api("POST", `/keys/${old.key_id}/rotate`, { body: { grace: "1h" }, headers });
    assert.deepEqual([again.status, again.json().key_id, "key" in again.json(), again.json().rotated_from], [200, first.json().key_id, false, old.key_id]);
  });

  test("wrong tokens are failed attempts: over the limit, 429 auth_throttled for that address", async () => {
    const bad = apiClient(edge, "pvm_not-a-token");
    const from = { "cf-connecting-ip": "198.51.100.77" };
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await bad("GET", "/keys", { headers: from })).status);
    assert.ok(statuses.includes(429), `statuses ${statuses}`);
    assert.equal(statuses[0], 401);
    const throttled = await bad("GET", "/keys", { headers: from });
    assert.deepEqual([throttled.status, throttled.json().type, Number(throttled.headers["retry-after"]) > 0], [429, "urn:provgate:problem:auth_throttled", true]);
    assert.equal((await api("GET", "/keys?limit=1", { headers: { "cf-connecting-ip": "198.51.100.78" } })).status, 200, "another address is not affected");
  });
});
