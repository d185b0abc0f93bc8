// The walking skeleton end to end: the real wasm in workerd, a real SCIM
// origin (scim2-server) and a recording origin on loopback.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startEdge, startScimOrigin, startRecordingOrigin, mintKey, raw, randomSecret, SIGNING_SECRET } from "./harness.mjs";

const SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";
const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
const pepper = randomSecret();
const originToken = randomSecret();

function assertScimError(res, status) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.headers["content-type"], "application/scim+json");
  const body = res.json();
  assert.deepEqual(body.schemas, [SCIM_ERROR]);
  assert.equal(body.status, String(status));
  assert.ok(body.detail.includes(res.headers["x-request-id"]), "detail names the request id");
  return body;
}

describe("against scim2-server", () => {
  let origin, edge, key, lastRequestId;
  before(async () => {
    // The origin verifies the edge's signature on every request (examples/origin-verifier).
    origin = await startScimOrigin({ token: originToken, signingSecrets: [SIGNING_SECRET] });
    edge = await startEdge({ originUrl: origin.url, originAuthorization: `Bearer ${originToken}`, pepper });
    key = await mintKey(edge, pepper, { scopes: "users:read,users:write" });
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
  });

  test("a valid key's POST /Users creates the user at the origin, and Location names the edge", async () => {
    const res = await raw(`${edge.base}/Users`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.key}`, "content-type": "application/scim+json" },
      body: JSON.stringify({ schemas: [USER_SCHEMA], userName: "bjensen@example.com", password: "hunter2-secret" }),
    });
    assert.equal(res.status, 201, res.text);
    const created = res.json();
    assert.equal(res.headers.location, `${edge.base}/Users/${created.id}`);
    assert.equal(created.meta.location, `${edge.base}/Users/${created.id}`);
    assert.ok(res.headers.etag, "ETag passes through");

    const viaEdge = await raw(`${edge.base}/Users/${created.id}`, { headers: { authorization: `Bearer ${key.key}` } });
    assert.equal(viaEdge.status, 200);
    assert.equal(viaEdge.json().userName, "bjensen@example.com");
    assert.ok(origin.stderr().includes("") && !origin.stderr().includes("rejected"), origin.stderr());
  });

  test("Okta's HTTP Header mode (the bare key) is accepted", async () => {
    const res = await raw(`${edge.base}/Users?startIndex=1&count=2`, { headers: { authorization: key.key } });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.json().totalResults >= 1);
  });

  test("a filter reaches the origin intact", async () => {
    const filter = encodeURIComponent('userName eq "bjensen@example.com"');
    const res = await raw(`${edge.base}/Users?filter=${filter}`, { headers: { authorization: `Bearer ${key.key}` } });
    assert.equal(res.status, 200);
    assert.equal(res.json().totalResults, 1);
    lastRequestId = res.headers["x-request-id"];
  });

  test("the audit log names the key id and never the key, a query string or a body", async () => {
    await edge.auditFor(lastRequestId);
    const lines = edge.auditLines();
    assert.ok(lines.length >= 3);
    const allowed = lines.find((l) => l.method === "POST" && l.decision === "allow");
    assert.ok(allowed, JSON.stringify(lines));
    for (const field of ["request_id", "key_id", "tenant", "decision", "reason", "method", "resource", "status", "origin_status", "latency_ms"]) {
      assert.ok(field in allowed, `audit line has ${field}`);
    }
    assert.equal(allowed.key_id, key.keyId);
    assert.equal(allowed.resource, "users");
    assert.equal(allowed.status, 201);
    assert.equal(allowed.origin_status, 201);
    const everything = edge.logs.map((l) => l.message).join("\n");
    for (const secret of [key.key, pepper, originToken, "hunter2-secret", "bjensen", "startIndex", "filter"]) {
      assert.ok(!everything.includes(secret), `logs must not contain ${secret}`);
    }
  });
});

describe("against a recording origin", () => {
  let origin, edge, key, readOnly, tenantKey;
  const originResponse = { current: null };
  before(async () => {
    origin = await startRecordingOrigin(() => originResponse.current ?? {});
    edge = await startEdge({ originUrl: origin.url, originAuthorization: "Bearer origin-credential", pepper, vars: { MAX_BODY_BYTES: "4096" } });
    key = await mintKey(edge, pepper, { scopes: "*" });
    readOnly = await mintKey(edge, pepper, { scopes: "users:read" });
    tenantKey = await mintKey(edge, pepper, { scopes: "*", tenant: "acme" });
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
  });

  test("the origin gets its own credential, the edge's assertions and nothing forged", async () => {
    origin.received.length = 0;
    const res = await raw(`${edge.base}/users/2819c223?attributes=userName`, {
      headers: {
        authorization: `Bearer ${tenantKey.key}`,
        "x-provgate-key-id": "key_forged",
        "x-provgate-tenant": "evil",
        "x-forwarded-host": "evil.example",
        "x-request-id": "forged",
        connection: "x-hop",
        "x-hop": "1",
        "if-none-match": 'W/"1"',
      },
    });
    assert.equal(res.status, 200);
    assert.equal(origin.received.length, 1);
    const got = origin.received[0];
    assert.equal(got.url, "/v2/Users/2819c223?attributes=userName", "canonical path, query kept");
    assert.equal(got.headers.authorization, "Bearer origin-credential");
    assert.equal(got.headers["x-provgate-key-id"], tenantKey.keyId);
    assert.equal(got.headers["x-provgate-tenant"], "acme");
    assert.equal(got.headers["x-request-id"], res.headers["x-request-id"]);
    assert.match(got.headers["x-request-id"], /^[0-9a-f]{24}$/);
    assert.equal(got.headers["x-forwarded-host"], new URL(edge.url).host);
    assert.equal(got.headers["x-forwarded-proto"], "http");
    assert.equal(got.headers["x-forwarded-prefix"], "/scim");
    assert.equal(got.headers["x-hop"], undefined, "headers named by Connection are dropped");
    assert.equal(got.headers["if-none-match"], 'W/"1"');
    const allHeaders = JSON.stringify(got.headers);
    assert.ok(!allHeaders.includes(tenantKey.key), "the IdP's key never reaches the origin");
  });

  test("method, body and the query string are forwarded byte for byte", async () => {
    origin.received.length = 0;
    const query = "filter=userName%20eq%20%22a%40b.c%22&startIndex=1&count=100&aadOptscim062020";
    const body = JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "Replace", path: "active", value: false }] });
    await raw(`${edge.base}/Users/abc?${query}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${key.key}`, "content-type": "application/scim+json" },
      body,
    });
    const got = origin.received[0];
    assert.equal(got.method, "PATCH");
    assert.equal(got.url, `/v2/Users/abc?${query}`);
    assert.equal(got.body, body);
    assert.equal(got.headers["content-type"], "application/scim+json");
  });

  test("origin responses pass through unchanged: status, ETag, Location, body", async () => {
    originResponse.current = {
      status: 412,
      headers: { etag: 'W/"7"', location: "https://edge.example/scim/v2/Users/x", "x-origin": "yes" },
      body: '{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"412","detail":"stale"}',
    };
    try {
      const res = await raw(`${edge.base}/Users/x`, { method: "PUT", headers: { authorization: `Bearer ${key.key}`, "if-match": 'W/"6"' }, body: "{}" });
      assert.equal(res.status, 412);
      assert.equal(res.headers.etag, 'W/"7"');
      assert.equal(res.headers.location, "https://edge.example/scim/v2/Users/x");
      assert.equal(res.headers["x-origin"], "yes");
      assert.equal(res.text, originResponse.current.body);
      assert.equal(origin.received.at(-1).headers["if-match"], 'W/"6"');
    } finally {
      originResponse.current = null;
    }
  });

  test("a redirect from the origin is passed back, never followed with the origin's credential", async () => {
    origin.received.length = 0;
    originResponse.current = { status: 302, headers: { location: `${origin.url}/followed` }, body: "" };
    try {
      const res = await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key.key}` } });
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, `${origin.url}/followed`);
      assert.deepEqual(origin.received.map((r) => r.url), ["/v2/Users"], "one request, to where the edge sent it");
    } finally {
      originResponse.current = null;
    }
  });

  test("a missing key gets 401 with a Bearer challenge and no error code", async () => {
    const res = await raw(`${edge.base}/Users`);
    assertScimError(res, 401);
    assert.equal(res.headers["www-authenticate"], 'Bearer realm="provgate"');
  });

  test("every kind of bad key gets 401 invalid_token, is logged with its reason, and never reaches the origin", async () => {
    const unknown = await mintKey(null, pepper); // minted, never stored
    const revoked = await mintKey(edge, pepper, { edit: (r) => ({ ...r, status: "revoked" }) });
    const expired = await mintKey(edge, pepper, { edit: (r) => ({ ...r, expires_at: "2020-01-01T00:00:00Z" }) });
    const future = await mintKey(edge, pepper, { edit: (r) => ({ ...r, not_before: "2999-01-01T00:00:00Z" }) });
    const typo = key.key.slice(0, 10) + (key.key[10] === "a" ? "b" : "a") + key.key.slice(11);
    const cases = [
      ["garbage", "Bearer hello", "key_malformed"],
      ["Bearer twice", `Bearer Bearer ${key.key}`, "key_malformed"],
      ["Basic scheme", `Basic ${key.key}`, "key_malformed"],
      ["typo", `Bearer ${typo}`, "key_bad_checksum"],
      ["truncated", `Bearer ${key.key.slice(0, -1)}`, "key_malformed"],
      ["unknown", `Bearer ${unknown.key}`, "key_unknown"],
      ["revoked", `Bearer ${revoked.key}`, "key_revoked"],
      ["expired", `Bearer ${expired.key}`, "key_expired"],
      ["not yet valid", `Bearer ${future.key}`, "key_not_yet_valid"],
    ];
    origin.received.length = 0;
    const details = {};
    for (const [name, authorization, reason] of cases) {
      const res = await raw(`${edge.base}/Users`, { headers: { authorization } });
      const body = assertScimError(res, 401);
      assert.equal(res.headers["www-authenticate"], 'Bearer realm="provgate", error="invalid_token"', name);
      const line = await edge.auditFor(res.headers["x-request-id"]);
      assert.equal(line.reason, reason, name);
      assert.equal(line.decision, "deny");
      details[name] = body.detail.replace(/\(request id \w+\)/, "");
    }
    assert.equal(origin.received.length, 0, "no denied request reaches the origin");
    // Unknown, revoked, expired and not-yet-valid look the same to the caller.
    assert.equal(details.unknown, details.revoked);
    assert.equal(details.unknown, details.expired);
    assert.equal(details.unknown, details["not yet valid"]);
  });

  test("a key without the scope gets 403 and the origin sees nothing", async () => {
    origin.received.length = 0;
    const res = await raw(`${edge.base}/Users`, { method: "POST", headers: { authorization: `Bearer ${readOnly.key}` }, body: "{}" });
    assertScimError(res, 403);
    assert.equal(origin.received.length, 0);
    const line = await edge.auditFor(res.headers["x-request-id"]);
    assert.deepEqual([line.reason, line.key_id, line.resource], ["insufficient_scope", readOnly.keyId, "users"]);
  });

  test("a malformed record denies (fail closed) and is logged as such", async () => {
    const broken = await mintKey(edge, pepper, { edit: (r) => ({ ...r, scopes: ["users:everything"] }) });
    const res = await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${broken.key}` } });
    assertScimError(res, 500);
    const line = await edge.auditFor(res.headers["x-request-id"]);
    assert.equal(line.reason, "record_malformed");
  });

  test("paths outside the SCIM base, ambiguous paths and method overrides are refused", async () => {
    origin.received.length = 0;
    const auth = { authorization: `Bearer ${key.key}` };
    assertScimError(await raw(`${edge.url}/v2/Users`, { headers: auth }), 404);
    assertScimError(await raw(`${edge.url}/scim/v2x/Users`, { headers: auth }), 404);
    assertScimError(await raw(`${edge.base}/Users/a/b`, { headers: auth }), 404);
    assertScimError(await raw(`${edge.base}/Users/..%2FGroups`, { headers: auth }), 400);
    assertScimError(await raw(`${edge.base}/Users//x`, { headers: auth }), 400);
    assertScimError(await raw(`${edge.base}/Users/x`, { method: "POST", headers: auth }), 405);
    assertScimError(await raw(`${edge.base}/Users/x`, { method: "POST", headers: { ...auth, "x-http-method-override": "DELETE" } }), 405);
    assert.equal(origin.received.length, 0);
  });

  test("a body over MAX_BODY_BYTES gets 413 and is not forwarded", async () => {
    origin.received.length = 0;
    const res = await raw(`${edge.base}/Users`, { method: "POST", headers: { authorization: `Bearer ${key.key}` }, body: "x".repeat(5000) });
    assertScimError(res, 413);
    assert.equal(origin.received.length, 0);
  });

  test("a slow origin gives 504 and an unreachable one 502, each a SCIM error, not retried", async () => {
    const slow = await startEdge({ originUrl: origin.url, pepper, vars: { ORIGIN_TIMEOUT_MS: "300" } });
    const closed = await startRecordingOrigin();
    await closed.stop();
    const down = await startEdge({ originUrl: closed.url, pepper });
    try {
      const k1 = await mintKey(slow, pepper);
      originResponse.current = { hang: true };
      origin.received.length = 0;
      const res = await raw(`${slow.base}/Users`, { method: "POST", headers: { authorization: `Bearer ${k1.key}` }, body: "{}" });
      assertScimError(res, 504);
      assert.equal(origin.received.length, 1, "sent once, never retried");
      originResponse.current = null;

      const k2 = await mintKey(down, pepper);
      const res2 = await raw(`${down.base}/Users`, { headers: { authorization: `Bearer ${k2.key}` } });
      assertScimError(res2, 502);
      assert.equal((await down.auditFor(res2.headers["x-request-id"])).reason, "origin_unreachable");
    } finally {
      originResponse.current = null;
      await slow.stop();
      await down.stop();
    }
  });
});

describe("fail closed without dependencies", () => {
  test("garbage and bad-checksum keys are rejected before any KV read", async () => {
    // No KEYS binding at all: any KV read would fail with 503.
    const origin = await startRecordingOrigin();
    const edge = await startEdge({ originUrl: origin.url, pepper, kv: false });
    try {
      const good = await mintKey(null, pepper);
      const typo = good.key.slice(0, -1) + (good.key.at(-1) === "a" ? "b" : "a");
      for (const authorization of ["Bearer garbage", `Bearer ${typo}`, `Bearer ${good.key}x`]) {
        const res = await raw(`${edge.base}/Users`, { headers: { authorization } });
        assertScimError(res, 401);
      }
      // A well-formed key does need KV, and its absence denies with 503.
      const res = await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${good.key}` } });
      assertScimError(res, 503);
      assert.equal(origin.received.length, 0);
    } finally {
      await edge.stop();
      await origin.stop();
    }
  });

  test("a Worker without PEPPER denies everything with 500", async () => {
    const origin = await startRecordingOrigin();
    const edge = await startEdge({ originUrl: origin.url, pepper: "" });
    try {
      const res = await raw(`${edge.base}/Users`, { headers: { authorization: "Bearer x" } });
      assertScimError(res, 500);
      assert.equal((await edge.auditFor(res.headers["x-request-id"])).reason, "misconfigured");
      assert.equal(origin.received.length, 0);
    } finally {
      await edge.stop();
      await origin.stop();
    }
  });
});
