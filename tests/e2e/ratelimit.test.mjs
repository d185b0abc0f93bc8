// Per-key rate limits in each key's Durable Object, instant revocation, and
// the limiter's failure mode, end to end in workerd.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startEdge, startRecordingOrigin, mintKey, raw, randomSecret, runCli, apiClient } from "./harness.mjs";

const pepper = randomSecret();
const rootToken = randomSecret() + randomSecret();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe("rate limits", () => {
  let origin, edge;
  before(async () => {
    origin = await startRecordingOrigin();
    edge = await startEdge({ originUrl: origin.url, pepper, vars: { ROOT_TOKEN: rootToken } });
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
  });

  test("40 concurrent requests on a burst of 5: 5 pass, the rest get 429 with Retry-After; then the sustained rate", async () => {
    // One request per 2 s sustained: the margins below hold even if the 40 requests take 1.9 s to serve.
    const { key } = await mintKey(edge, pepper, { edit: (r) => ({ ...r, rate_per_minute: 30, burst: 5 }) });
    origin.received.length = 0;
    const results = await Promise.all(
      Array.from({ length: 40 }, () => raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key}` } })),
    );
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    assert.ok(ok.length >= 5 && ok.length <= 6, `admitted ${ok.length}`);
    assert.equal(ok.length + limited.length, 40);
    assert.equal(origin.received.length, ok.length, "rejections cost the origin nothing");
    for (const r of limited) {
      assert.ok(Number(r.headers["retry-after"]) >= 1, "Retry-After in seconds");
      assert.equal(r.json().status, "429");
    }
    assert.match(ok[0].headers["ratelimit-policy"], /^"key";q=5;w=10$/);
    assert.match(ok[0].headers["ratelimit"], /^"key";r=\d+;t=\d+$/);

    await sleep(2100);
    const again = await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(again.status, 200, "one more after one interval");
    const next = await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(next.status, 429, "but only at the sustained rate");
    assert.equal((await edge.auditFor(next.headers["x-request-id"])).reason, "rate_limited");
  });

  test("key A exhausting its burst does not limit key B", async () => {
    const a = await mintKey(edge, pepper, { edit: (r) => ({ ...r, rate_per_minute: 1, burst: 2 }) });
    const b = await mintKey(edge, pepper, { edit: (r) => ({ ...r, rate_per_minute: 1, burst: 2 }) });
    const get = (k) => raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${k}` } });
    assert.deepEqual([(await get(a.key)).status, (await get(a.key)).status, (await get(a.key)).status], [200, 200, 429]);
    assert.deepEqual([(await get(b.key)).status, (await get(b.key)).status], [200, 200]);
  });

  test("the default quota comes from [vars] when the record has none", async () => {
    const small = await startEdge({ originUrl: origin.url, pepper, vars: { RATE_PER_MINUTE: "1", BURST: "1" } });
    try {
      const { key } = await mintKey(small, pepper);
      const get = () => raw(`${small.base}/Users`, { headers: { authorization: `Bearer ${key}` } });
      assert.deepEqual([(await get()).status, (await get()).status], [200, 429]);
    } finally {
      await small.stop();
    }
  });

  test("revocation through the API stops the key at once; a wrong token changes nothing", async () => {
    const { key, keyId } = await mintKey(edge, pepper);
    const get = () => raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal((await get()).status, 200);
    const wrong = await apiClient(edge, randomSecret() + randomSecret())("POST", `/keys/${keyId}/revoke`);
    assert.equal(wrong.status, 401);
    assert.equal((await edge.auditFor(wrong.headers["x-request-id"])).reason, "api_unauthorized");
    assert.equal((await get()).status, 200, "a wrong token changes nothing");
    const api = apiClient(edge, rootToken);
    assert.equal((await api("POST", "/keys/key_doesnotexist/revoke")).status, 404);
    const done = await api("POST", `/keys/${keyId}/revoke`);
    assert.equal(done.status, 200, done.text);
    const denied = await get();
    assert.equal(denied.status, 401);
    assert.equal(denied.headers["www-authenticate"], 'Bearer realm="provgate", error="invalid_token"');
    assert.equal((await edge.auditFor(denied.headers["x-request-id"])).reason, "key_revoked");
  });
});

describe("guard placement", () => {
  test("GUARD_LOCATION_HINT places new guards (which still meter); an unknown region is misconfigured", async () => {
    const origin = await startRecordingOrigin();
    const hinted = await startEdge({ originUrl: origin.url, pepper, vars: { GUARD_LOCATION_HINT: "weur" } });
    const wrong = await startEdge({ originUrl: origin.url, pepper, vars: { GUARD_LOCATION_HINT: "mars" } });
    try {
      const { key } = await mintKey(hinted, pepper, { edit: (r) => ({ ...r, rate_per_minute: 1, burst: 2 }) });
      const get = (edge) => raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key}` } });
      assert.deepEqual([(await get(hinted)).status, (await get(hinted)).status, (await get(hinted)).status], [200, 200, 429]);
      const refused = await get(wrong);
      assert.equal(refused.status, 500);
      assert.equal((await wrong.auditFor(refused.headers["x-request-id"])).reason, "misconfigured");
    } finally {
      await hinted.stop();
      await wrong.stop();
      await origin.stop();
    }
  });
});

describe("guard placement and the doctor", () => {
  // Without a hint, a never-used key's check does not create its guard (doctor.test.mjs); with
  // one, placement does not depend on the caller, so the check asks the guard and is counted.
  test("with GUARD_LOCATION_HINT the doctor's check of a never-used key is metered and counted by its guard", async () => {
    const origin = await startRecordingOrigin();
    const hinted = await startEdge({ originUrl: origin.url, pepper, vars: { GUARD_LOCATION_HINT: "weur" } });
    try {
      const { key } = await mintKey(hinted, pepper);
      const check = () => raw(`${hinted.url}/_provgate/check`, { method: "POST", headers: { authorization: `Bearer ${key}` } });
      assert.equal((await check()).status, 200);
      assert.equal((await check()).json().usage.windows["1h"].introspected, 2);
    } finally {
      await hinted.stop();
      await origin.stop();
    }
  });
});

describe("limiter failure mode", () => {
  test("closed (default) denies with 503; open forwards unmetered and says so in the log", async () => {
    const origin = await startRecordingOrigin();
    const closed = await startEdge({ originUrl: origin.url, pepper, guard: false });
    const open = await startEdge({ originUrl: origin.url, pepper, guard: false, vars: { RATE_LIMIT_FAILURE_MODE: "open" } });
    try {
      const k1 = await mintKey(closed, pepper);
      const res = await raw(`${closed.base}/Users`, { headers: { authorization: `Bearer ${k1.key}` } });
      assert.equal(res.status, 503);
      assert.equal((await closed.auditFor(res.headers["x-request-id"])).reason, "limiter_unavailable");
      assert.equal(origin.received.length, 0);

      const k2 = await mintKey(open, pepper);
      const res2 = await raw(`${open.base}/Users`, { headers: { authorization: `Bearer ${k2.key}` } });
      assert.equal(res2.status, 200);
      const line = await open.auditFor(res2.headers["x-request-id"]);
      assert.deepEqual([line.decision, line.reason], ["allow", "forwarded_unmetered"]);
    } finally {
      await closed.stop();
      await open.stop();
      await origin.stop();
    }
  });
});

describe("the CLI against a running edge", () => {
  test("provgate key mint and key revoke through the API: the key works, then is refused at once, and its record says so", { timeout: 120_000 }, async () => {
    const origin = await startRecordingOrigin();
    const edge = await startEdge({ originUrl: origin.url, pepper, vars: { ROOT_TOKEN: rootToken } });
    const cli = (...args) => runCli(args, { PROVGATE_EDGE_URL: edge.url, PROVGATE_TOKEN: rootToken });
    try {
      const minted = await cli("key", "mint", "--label", "cli test", "--scopes", "users:read");
      assert.equal(minted.status, 0, minted.out);
      const key = minted.stdout.match(/key:\s+(pvk_\S+)/)[1];
      const keyId = minted.stdout.match(/key id:\s+(key_\S+)/)[1];
      const get = () => raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal((await get()).status, 200, "the edge finds what the API wrote");

      const revoked = await cli("key", "revoke", keyId, "--yes");
      assert.equal(revoked.status, 0, revoked.out);
      assert.equal((await get()).status, 401, "refused at once");
      const index = JSON.parse(await edge.kv.get(`id:${keyId}`));
      assert.equal(JSON.parse(await edge.kv.get(index.record)).status, "revoked", "and the record says so");

      const unknown = await cli("key", "revoke", "key_doesnotexist", "--yes");
      assert.equal(unknown.status, 1);
      assert.match(unknown.stderr, /\[404 not_found/);
    } finally {
      await edge.stop();
      await origin.stop();
    }
  });
});
