// Each isolate's cache of key records (RECORD_CACHE_TTL_SECONDS): what it
// may delay — a change written only to KV, by at most its TTL — and what
// it may not: revocation through the management API, a key that appears in KV,
// expiry on time.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { recordingEdgeFixture, startEdge, startRecordingOrigin, mintKey, raw, randomSecret, apiClient } from "./harness.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TTL_SECONDS = 3;
const pepper = randomSecret();
const rootToken = randomSecret() + randomSecret();
const get = (edge, key, path = "/Users") => raw(`${edge.base}${path}`, { headers: { authorization: `Bearer ${key}` } });

describe(`with RECORD_CACHE_TTL_SECONDS=${TTL_SECONDS}`, { timeout: 120_000 }, () => {
  const fixture = recordingEdgeFixture({ pepper, vars: { RECORD_CACHE_TTL_SECONDS: String(TTL_SECONDS), ROOT_TOKEN: rootToken } });

  test("a change written only to KV is seen once the TTL has passed, not before", async () => {
    const { edge } = fixture;
    const minted = await mintKey(edge, pepper, { scopes: "users:read" });
    const read = performance.now();
    assert.equal((await get(edge, minted.key)).status, 200);
    await edge.kv.put(minted.name, JSON.stringify({ ...minted.record, scopes: ["groups:read"] }));
    const cached = await get(edge, minted.key);
    // Only meaningful while the first read is younger than the TTL (a stalled machine skips it).
    if (performance.now() - read < (TTL_SECONDS - 1) * 1000) assert.equal(cached.status, 200, "the isolate still uses the record it read");
    await sleep(TTL_SECONDS * 1000 + 200);
    assert.equal((await get(edge, minted.key)).status, 403, "after the TTL the edited scopes apply");
    assert.equal((await get(edge, minted.key, "/Groups")).status, 200);
  });

  test("revocation through the management API is instant for a cached record", async () => {
    const { edge } = fixture;
    const minted = await mintKey(edge, pepper);
    assert.equal((await get(edge, minted.key)).status, 200);
    const revoked = await apiClient(edge, rootToken)("POST", `/keys/${minted.keyId}/revoke`);
    assert.equal(revoked.status, 200, revoked.text);
    const after = await get(edge, minted.key);
    assert.equal(after.status, 401);
    assert.equal((await edge.auditFor(after.headers["x-request-id"])).reason, "key_revoked");
  });

  test("an unknown key is not remembered: it works as soon as KV has its record", async () => {
    const { edge } = fixture;
    const minted = await mintKey(null, pepper);
    assert.equal((await get(edge, minted.key)).status, 401);
    await edge.kv.put(minted.name, JSON.stringify(minted.record));
    assert.equal((await get(edge, minted.key)).status, 200);
  });

  test("a cached record still expires on time", async () => {
    const { edge } = fixture;
    const expiresAt = new Date(Math.ceil((Date.now() + 2500) / 1000) * 1000);
    const minted = await mintKey(edge, pepper, { edit: (r) => ({ ...r, expires_at: expiresAt.toISOString().replace(/\.\d+Z$/, "Z") }) });
    assert.equal((await get(edge, minted.key)).status, 200);
    await sleep(Math.max(0, expiresAt - Date.now()) + 300);
    const expired = await get(edge, minted.key);
    assert.equal(expired.status, 401);
    assert.equal((await edge.auditFor(expired.headers["x-request-id"])).reason, "key_expired");
  });
});

describe("RECORD_CACHE_TTL_SECONDS settings", { timeout: 120_000 }, () => {
  test("0 reads KV on every request; above 300 is a misconfiguration", async () => {
    const origin = await startRecordingOrigin();
    const uncached = await startEdge({ originUrl: origin.url, pepper, vars: { RECORD_CACHE_TTL_SECONDS: "0" } });
    const tooLong = await startEdge({ originUrl: origin.url, pepper, vars: { RECORD_CACHE_TTL_SECONDS: "301" } });
    try {
      const minted = await mintKey(uncached, pepper, { scopes: "users:read" });
      assert.equal((await get(uncached, minted.key)).status, 200);
      await uncached.kv.put(minted.name, JSON.stringify({ ...minted.record, scopes: ["groups:read"] }));
      assert.equal((await get(uncached, minted.key)).status, 403, "the edit applies to the next request");

      const refused = await get(tooLong, minted.key);
      assert.equal(refused.status, 500);
      assert.equal((await tooLong.auditFor(refused.headers["x-request-id"])).reason, "misconfigured");
    } finally {
      await uncached.stop();
      await tooLong.stop();
      await origin.stop();
    }
  });
});
