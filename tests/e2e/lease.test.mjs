// The opt-in guard lease (GUARD_LEASE=<N>/<L>s, docs/configuration.md) in
// workerd, with one isolate: its bounds on the rate, on revocation and on
// usage counts, and a key whose record asks for an exact rate. (Several
// isolates are not available locally: src/core/lease.rs tests the bounds
// for many.)
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startEdge, startRecordingOrigin, mintKey, raw, randomSecret, apiClient } from "./harness.mjs";

const N = 5;
const L_SECONDS = 2;
const pepper = randomSecret();
const rootToken = randomSecret() + randomSecret();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe(`with GUARD_LEASE=${N}/${L_SECONDS}s`, { timeout: 120_000 }, () => {
  let origin, edge;
  const get = (key) => raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key}` } });
  const api = () => apiClient(edge, rootToken);
  before(async () => {
    origin = await startRecordingOrigin();
    edge = await startEdge({ originUrl: origin.url, pepper, vars: { ROOT_TOKEN: rootToken, GUARD_LEASE: `${N}/${L_SECONDS}s` } });
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
  });

  test("the rate holds: leased admissions are charged when granted; every one is counted with the next ask", async () => {
    // 6 a minute (one per 10 s), a burst of 12: 12 admitted at once, then one more per 10 s.
    const minted = await mintKey(edge, pepper, { edit: (r) => ({ ...r, rate_per_minute: 6, burst: 12 }) });
    origin.received.length = 0;
    const started = performance.now();
    const statuses = [];
    for (let i = 0; i < 30; i++) statuses.push((await get(minted.key)).status);
    const seconds = (performance.now() - started) / 1000;
    const admitted = statuses.filter((s) => s === 200).length;
    // burst + rate × (window + L), the bound docs/configuration.md states.
    const bound = 12 + Math.ceil((6 / 60) * (seconds + L_SECONDS));
    assert.ok(admitted >= 12 && admitted <= bound, `admitted ${admitted} in ${seconds.toFixed(1)} s, bound ${bound}`);
    assert.deepEqual(new Set(statuses.slice(admitted)), new Set([429]), "admitted first, then limited");
    assert.equal(origin.received.length, admitted, "only admitted requests reach the origin");

    // The leased admissions are reported with the next ask: after L, the lease is gone.
    await sleep(L_SECONDS * 1000 + 200);
    const last = await get(minted.key);
    const usage = (await api()("GET", `/keys/${minted.keyId}/usage`)).json().usage;
    assert.equal(usage.total.allowed, admitted + (last.status === 200 ? 1 : 0), "every admission counted, the leased ones included");
  });

  test("a revocation stops the key within N − 1 requests and L seconds in an isolate that holds a lease", async () => {
    const minted = await mintKey(edge, pepper, { edit: (r) => ({ ...r, rate_per_minute: 6000, burst: 100 }) });
    assert.equal((await get(minted.key)).status, 200, "asks the guard: a lease of N, one spent");
    const revoked = await api()("POST", `/keys/${minted.keyId}/revoke`);
    assert.equal(revoked.status, 200, revoked.text);
    const revokedAt = performance.now();
    const after = [];
    for (let i = 0; i < N + 2; i++) after.push((await get(minted.key)).status);
    const stillAdmitted = after.filter((s) => s === 200).length;
    assert.ok(stillAdmitted <= N - 1, `admitted ${stillAdmitted} after the revocation`);
    assert.equal(after.at(-1), 401, "the lease spent, the guard says revoked");
    assert.deepEqual(after.slice(stillAdmitted), Array(after.length - stillAdmitted).fill(401));
    // The lease is in use: its N − 1 admissions are spent, unless L ran out first (a stalled machine).
    assert.ok(stillAdmitted === N - 1 || performance.now() - revokedAt >= L_SECONDS * 1000, `admitted ${stillAdmitted}`);
    const last = await get(minted.key);
    assert.equal((await edge.auditFor(last.headers["x-request-id"])).reason, "key_revoked");
  });

  test("a lease runs out after L seconds even with admissions left", async () => {
    const minted = await mintKey(edge, pepper, { edit: (r) => ({ ...r, rate_per_minute: 6000, burst: 100 }) });
    assert.equal((await get(minted.key)).status, 200);
    await api()("POST", `/keys/${minted.keyId}/revoke`);
    await sleep(L_SECONDS * 1000 + 200);
    assert.equal((await get(minted.key)).status, 401, "past L the isolate asks again");
  });

  test("a key whose record sets exact_rate is never leased: its revocation is instant", async () => {
    const minted = await mintKey(edge, pepper, { edit: (r) => ({ ...r, rate_per_minute: 6000, burst: 100, exact_rate: true }) });
    assert.equal((await get(minted.key)).status, 200);
    await api()("POST", `/keys/${minted.keyId}/revoke`);
    assert.equal((await get(minted.key)).status, 401);
  });
});
