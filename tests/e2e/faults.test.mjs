// Fault injection end to end: the built edge in workerd in front of an origin
// that misbehaves at the TCP level, and with KV and the key's guard failing.
// The promise under test: every failure is the documented SCIM error, within
// a bounded time, and the origin sees each request at most once (never a
// retry), and not at all when the fault is before the forward.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { createHash } from "node:crypto";
import { startEdge, mintKey, randomSecret } from "./harness.mjs";
import { startFaultOrigin, behaviours, refusingOriginUrl } from "./fault-origin.mjs";
import { failingKv, failingGuard } from "./fault-bindings.mjs";

const pepper = randomSecret();
const ORIGIN_TIMEOUT_MS = 1000;
const BINDING_TIMEOUT_MS = 500;
/** Slack for a loaded 2-core machine on top of any deadline. */
const SLACK_MS = 3000;
/** Time given to a retry to show up at the origin before counting. */
const SETTLE_MS = 400;
const SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";
const vars = { ORIGIN_TIMEOUT_MS: String(ORIGIN_TIMEOUT_MS), BINDING_TIMEOUT_MS: String(BINDING_TIMEOUT_MS) };
const roomy = (r) => ({ ...r, rate_per_minute: 100_000, burst: 10_000 });

/**
 * One request, read as a stream: status, headers, byte count, SHA-256 of the
 * body, whether the body arrived complete, and how long it all took. Never
 * rejects; a client-side limit turns a hang into `error: "client timeout"`.
 */
function send(url, { method = "GET", key, body, onData, limitMs = 60_000 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const headers = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers["content-length"] = Buffer.byteLength(body);
    const result = { bytes: 0, text: "" };
    const done = (extra) => resolve({ ...result, ...extra, ms: Date.now() - started });
    // A fresh connection each time: a connection the edge cut must not leak into the next test.
    const req = request(url, { method, headers, agent: false }, (res) => {
      Object.assign(result, { status: res.statusCode, headers: res.headers });
      const hash = createHash("sha256");
      res.on("data", (chunk) => {
        result.bytes += chunk.length;
        hash.update(chunk);
        if (result.text.length < 4096) result.text += chunk.toString();
        onData?.(result.bytes);
      });
      res.on("end", () => done({ complete: res.complete, sha256: hash.digest("hex") }));
      res.on("error", (e) => done({ complete: false, error: e.message }));
    });
    req.setTimeout(limitMs, () => req.destroy(new Error("client timeout")));
    req.on("error", (e) => done({ complete: false, error: e.message }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The response is the documented SCIM error, and the audit line names `reason`. */
async function assertScimError(edge, res, status, reason) {
  assert.equal(res.status, status, res.text || res.error);
  assert.equal(res.headers["content-type"], "application/scim+json");
  const body = JSON.parse(res.text);
  assert.deepEqual(body.schemas, [SCIM_ERROR]);
  assert.equal(body.status, String(status));
  assert.ok(body.detail.includes(res.headers["x-request-id"]), "detail names the request id");
  const line = await edge.auditFor(res.headers["x-request-id"]);
  assert.deepEqual([line.decision, line.reason], ["deny", reason]);
}

/** After a moment for any retry to arrive: the origin saw exactly `n` requests, all with this id. */
async function assertAttempts(origin, res, n) {
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  assert.equal(origin.requests.length, n, `origin saw ${origin.requests.length} requests, expected ${n}`);
  for (const r of origin.requests) assert.equal(r.requestId, res.headers["x-request-id"]);
}

const within = (res, minMs, maxMs) => {
  assert.ok(res.ms >= minMs, `answered after ${res.ms} ms, before the ${minMs} ms deadline`);
  assert.ok(res.ms < maxMs, `answered after ${res.ms} ms, bound ${maxMs} ms`);
};

describe("origin faults", { timeout: 240_000 }, () => {
  let origin, edge, key;
  before(async () => {
    origin = await startFaultOrigin();
    edge = await startEdge({ originUrl: origin.url, pepper, vars });
    key = (await mintKey(edge, pepper, { edit: roomy })).key;
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
  });
  const fresh = (behave) => {
    origin.behave = behave;
    origin.requests.length = 0;
  };

  test("a refused connection gives 502 origin_unreachable at once", async () => {
    const down = await startEdge({ originUrl: await refusingOriginUrl(), pepper, vars });
    try {
      const k = await mintKey(down, pepper);
      for (const method of ["GET", "POST"]) {
        const res = await send(`${down.base}/Users`, { method, key: k.key, body: method === "POST" ? "{}" : undefined });
        await assertScimError(down, res, 502, "origin_unreachable");
        within(res, 0, SLACK_MS);
      }
    } finally {
      await down.stop();
    }
  });

  const beforeAnswer = [
    ["answering after the deadline", behaviours.slow(ORIGIN_TIMEOUT_MS + 2000), 504, "origin_timeout", ORIGIN_TIMEOUT_MS],
    ["never answering", behaviours.hang, 504, "origin_timeout", ORIGIN_TIMEOUT_MS],
    ["closing without answering", behaviours.close, 502, "origin_unreachable", 0],
    ["resetting the connection before answering", behaviours.reset, 502, "origin_unreachable", 0],
    ["answering malformed HTTP", behaviours.malformed, 502, "origin_unreachable", 0],
    ["resetting in the middle of a chunked body", behaviours.resetMidBody({ chunked: true }), 502, "origin_unreachable", 0],
    ["stalling after the headers of a chunked body", behaviours.stallAfterHeaders, 504, "origin_timeout", ORIGIN_TIMEOUT_MS],
  ];
  for (const [name, behave, status, reason, deadline] of beforeAnswer) {
    for (const method of ["GET", "POST"]) {
      test(`an origin ${name} gives ${status} ${reason} for a ${method}, sent once`, async () => {
        fresh(behave);
        const res = await send(`${edge.base}/Users`, { method, key, body: method === "POST" ? '{"userName":"a"}' : undefined });
        await assertScimError(edge, res, status, reason);
        within(res, deadline, deadline + SLACK_MS);
        await assertAttempts(origin, res, 1);
      });
    }
  }

  test("an origin closing a kept-alive connection under the next POST gives 502 once, not a retry", async () => {
    // The first request leaves a pooled connection; the second arrives on it and is dropped.
    let n = 0;
    fresh((req, socket) => (n++ === 0 ? behaviours.ok(req, socket) : behaviours.close(req, socket)));
    const first = await send(`${edge.base}/Users`, { method: "POST", key, body: "{}" });
    assert.equal(first.status, 200);
    const res = await send(`${edge.base}/Users`, { method: "POST", key, body: '{"userName":"b"}' });
    await assertScimError(edge, res, 502, "origin_unreachable");
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    assert.deepEqual(origin.requests.map((r) => r.requestId), [first.headers["x-request-id"], res.headers["x-request-id"]]);
    assert.equal(origin.requests[1].connection, origin.requests[0].connection, "the second request reused the first's connection");
  });

  test("a reset in the middle of a body with Content-Length cuts the IdP's connection: never a complete response", async () => {
    fresh(behaviours.resetMidBody({ chunked: false }));
    const res = await send(`${edge.base}/Users`, { key });
    // The status had been passed on before the reset; what matters is that
    // the IdP cannot take the truncated body for a whole one.
    assert.equal(res.status, 200);
    assert.equal(res.complete, false, `${res.bytes} bytes arrived as a complete response`);
    assert.ok(res.bytes < 1048576);
    within(res, 0, SLACK_MS);
    const line = await edge.auditFor(res.headers["x-request-id"]);
    assert.deepEqual([line.decision, line.reason], ["allow", "forwarded"]);
    await assertAttempts(origin, res, 1);
  });

  for (const chunked of [false, true]) {
    test(`a 50 MB ${chunked ? "chunked " : ""}answer is streamed through whole, not buffered`, async () => {
      const size = 50 * 1024 * 1024;
      const fill = (i) => (i * 7 + (i >> 16)) % 256;
      const expected = createHash("sha256");
      const block = Buffer.alloc(1024 * 1024);
      for (let off = 0; off < size; off += block.length) {
        for (let i = 0; i < block.length; i++) block[i] = fill(off + i);
        expected.update(block);
      }
      // The origin holds back the rest of its answer until the IdP has seen
      // bytes: an edge that buffered the whole answer would never pass any on.
      // A chunked body's first MiB is read before answering (core::relay), so
      // that gate opens later.
      let openGate;
      const gate = new Promise((r) => (openGate = r));
      const gateAfter = (chunked ? 2 : 1) * 1024 * 1024;
      fresh(behaviours.huge({ size, chunked, gateAfter, gate, fill }));
      const res = await send(`${edge.base}/Users`, { key, limitMs: 30_000, onData: (bytes) => bytes >= 256 * 1024 && openGate() });
      assert.equal(res.error, undefined, `the edge passed bytes on before the origin sent them all (${res.bytes} received)`);
      assert.equal(res.status, 200);
      assert.equal(res.complete, true);
      assert.equal(res.bytes, size);
      assert.equal(res.sha256, expected.digest("hex"));
      await assertAttempts(origin, res, 1);
    });
  }
});

describe("key store faults", { timeout: 120_000 }, () => {
  let origin;
  before(async () => (origin = await startFaultOrigin()));
  after(async () => origin?.stop());

  const cases = [
    ["a missing KEYS binding", { kv: false }, 0],
    ["KV reads throwing", { kv: false, standIns: failingKv("throw") }, 0],
    ["KV reads rejecting", { kv: false, standIns: failingKv("reject") }, 0],
    ["KV reads not answering", { kv: false, standIns: failingKv("hang") }, BINDING_TIMEOUT_MS],
  ];
  for (const [name, options, deadline] of cases) {
    test(`${name} gives 503 key_store_unavailable, nothing forwarded`, async () => {
      const edge = await startEdge({ originUrl: origin.url, pepper, vars, ...options });
      try {
        origin.requests.length = 0;
        const { key } = await mintKey(null, pepper);
        const res = await send(`${edge.base}/Users`, { method: "POST", key, body: "{}" });
        await assertScimError(edge, res, 503, "key_store_unavailable");
        within(res, deadline, deadline + SLACK_MS);
        await assertAttempts(origin, res, 0);
      } finally {
        await edge.stop();
      }
    });
  }
});

describe("rate-limit guard faults", { timeout: 240_000 }, () => {
  let origin;
  before(async () => (origin = await startFaultOrigin()));
  after(async () => origin?.stop());

  const cases = [
    ["a missing KEY_GUARD binding", { guard: false }, 0],
    ["a guard that throws", { guard: false, standIns: failingGuard("throw") }, 0],
    ["a guard that rejects", { guard: false, standIns: failingGuard("reject") }, 0],
    ["a guard answering 500", { guard: false, standIns: failingGuard("status500") }, 0],
    ["a guard answering something else than its protocol", { guard: false, standIns: failingGuard("notJson") }, 0],
    ["a guard not answering", { guard: false, standIns: failingGuard("hang") }, BINDING_TIMEOUT_MS],
  ];
  for (const [name, options, deadline] of cases) {
    test(`${name}: closed denies with 503 limiter_unavailable, open forwards once unmetered`, async () => {
      const closed = await startEdge({ originUrl: origin.url, pepper, vars, ...options });
      const open = await startEdge({ originUrl: origin.url, pepper, vars: { ...vars, RATE_LIMIT_FAILURE_MODE: "open" }, ...options });
      try {
        origin.requests.length = 0;
        const k1 = await mintKey(closed, pepper);
        const denied = await send(`${closed.base}/Users`, { method: "POST", key: k1.key, body: "{}" });
        await assertScimError(closed, denied, 503, "limiter_unavailable");
        within(denied, deadline, deadline + SLACK_MS);
        await assertAttempts(origin, denied, 0);

        const k2 = await mintKey(open, pepper);
        const passed = await send(`${open.base}/Users`, { method: "POST", key: k2.key, body: "{}" });
        assert.equal(passed.status, 200, passed.text);
        assert.equal(passed.headers.ratelimit, undefined, "no rate headers when unmetered");
        within(passed, deadline, deadline + SLACK_MS);
        const line = await open.auditFor(passed.headers["x-request-id"]);
        assert.deepEqual([line.decision, line.reason], ["allow", "forwarded_unmetered"]);
        await assertAttempts(origin, passed, 1);
      } finally {
        await closed.stop();
        await open.stop();
      }
    });
  }
});
