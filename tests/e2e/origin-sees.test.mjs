// The origin sees only what was authorized (#16), end to end in workerd:
// request headers by allowlist, no key anywhere in a URL, the connection
// doctor's check counted and metered, /Bulk names and encodings, bodies on
// reads, unknown methods, .search, NFKC lookalikes, plain HTTP, make dev's
// client address, and the signature checked by an implementation this
// project did not write. The recording origin keeps header names exactly as
// sent (node's rawHeaders: case and underscores), so absence is asserted on
// what really arrived.
import { test, describe, before, beforeEach, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { startEdge, startRecordingOrigin, startScimOrigin, mintKey, raw, rawBytes, randomSecret, recordingEdgeFixture, ROOT, SIGNING_SECRET, clearOfWindowEdge } from "./harness.mjs";
import { startClientAddressProxy } from "../../scripts/client-address-proxy.mjs";

const SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";
const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const pepper = randomSecret();

/** The allowlist, the FORWARD_HEADERS name this suite adds, and what the edge sets itself. */
const ALLOWED = ["accept", "accept-language", "content-type", "content-language", "if-match", "if-none-match", "user-agent"];
const EXTRA = "x-okta-trace";
const EDGE_OWNED = ["authorization", "x-request-id", "x-provgate-key-id", "x-provgate-tenant", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-prefix", "signature", "signature-input", "content-digest"];

/** Header names as the origin received them, exactly as sent on the wire. */
const rawNames = (received) => received.rawHeaders.filter((_, i) => i % 2 === 0);

/**
 * Added on the way by the fetch layer (the connection's headers) and by the
 * Workers runtime itself (CF-Worker names the zone of every Worker
 * subrequest, on Cloudflare as in miniflare): not the IdP's.
 */
const TRANSPORT = ["host", "content-length", "transfer-encoding", "connection", "accept-encoding", "cf-worker"];

describe("what the origin sees", () => {
  const fx = recordingEdgeFixture({ pepper, vars: { FORWARD_HEADERS: "X-Okta-Trace" } });
  let key, keyId, readOnly;
  before(async () => {
    ({ key, keyId } = await mintKey(fx.edge, pepper, { scopes: "*", tenant: "acme" }));
    readOnly = (await mintKey(fx.edge, pepper, { scopes: "users:read" })).key;
  });
  beforeEach(() => {
    fx.origin.received.length = 0;
  });

  async function assertRefused(res, status, reason, { keyId: wantKeyId = null } = {}) {
    assert.equal(res.status, status, res.text);
    assert.equal(res.headers["content-type"], "application/scim+json");
    const body = res.json();
    assert.deepEqual(body.schemas, [SCIM_ERROR]);
    const line = await fx.edge.auditFor(res.headers["x-request-id"]);
    assert.equal(line.reason, reason);
    assert.equal(line.decision, "deny");
    assert.equal(line.key_id, wantKeyId);
    assert.equal(fx.origin.received.length, 0, "nothing reached the origin");
    return line;
  }

  /** Every header of issue #16's list that is dropped rather than refused. */
  const DROPPED = {
    "X-Real-IP": "198.51.100.1",
    "True-Client-IP": "198.51.100.2",
    "X-Client-IP": "198.51.100.3",
    "Client-IP": "198.51.100.4",
    "X-Cluster-Client-IP": "198.51.100.5",
    "X-Host": "evil.example",
    "X-Forwarded": "for=198.51.100.6",
    "X-Forwarded-For": "198.51.100.7",
    "Forwarded": "for=198.51.100.8;host=evil.example",
    "X-Forwarded-Host": "evil.example",
    "X-Provgate-Tenant": "globex",
    Cookie: "session=abc",
    Origin: "https://evil.example",
    "X-Custom": "1",
    x_okta_thing: "1",
    User_Agent: "twin",
  };

  test("a keyed request: only the allowlist, FORWARD_HEADERS and the edge's own headers arrive", async () => {
    const sent = {
      accept: "application/scim+json",
      "accept-language": "de",
      "content-language": "de",
      "if-none-match": 'W/"1"',
      "user-agent": "Okta SCIM Client 1.0",
      "x-okta-trace": "trace-1",
      ...DROPPED,
    };
    const res = await raw(`${fx.edge.base}/Users?count=1`, { headers: { authorization: `Bearer ${key}`, ...sent } });
    assert.equal(res.status, 200, res.text);
    assert.equal(fx.origin.received.length, 1);
    const got = fx.origin.received[0];
    const names = rawNames(got).map((n) => n.toLowerCase());
    for (const name of names) {
      assert.ok([...ALLOWED, EXTRA, ...EDGE_OWNED, ...TRANSPORT].includes(name), `${name} reached the origin`);
    }
    assert.ok(!rawNames(got).some((n) => n.includes("_")), "no name with _");
    for (const name of ["accept", "accept-language", "content-language", "if-none-match", "user-agent", "x-okta-trace"]) {
      assert.equal(got.headers[name], sent[name], `${name} passes as sent`);
    }
    assert.equal(got.headers["x-provgate-tenant"], "acme", "the edge's tenant, not the client's");
    assert.equal(got.headers["x-forwarded-host"], new URL(fx.edge.url).host);
    assert.equal(got.headers["x-provgate-key-id"], keyId);
    for (const name of Object.keys(DROPPED)) {
      if (!["X-Forwarded-Host", "X-Provgate-Tenant"].includes(name)) assert.equal(got.headers[name.toLowerCase()], undefined, name);
    }
  });

  test("keyless public discovery forwards Accept only, plus the edge's own headers", async () => {
    const res = await raw(`${fx.edge.base}/ServiceProviderConfig`, { headers: { accept: "application/scim+json", "user-agent": "curl", "x-okta-trace": "t", ...DROPPED } });
    assert.equal(res.status, 200, res.text);
    const got = fx.origin.received[0];
    const fromClient = rawNames(got).map((n) => n.toLowerCase()).filter((n) => !EDGE_OWNED.includes(n) && !TRANSPORT.includes(n));
    assert.deepEqual(fromClient, ["accept"]);
    assert.equal(got.headers["x-provgate-key-id"], undefined);
    assert.ok(got.headers.signature, "still signed");
  });

  test("URL overrides and underscore twins are refused (400 header_refused), keyed or keyless; method overrides 405", async () => {
    const refused = ["X-Original-URL", "X-Rewrite-URL", "X-Override-URL", "X_Provgate_Tenant", "X_Provgate_Key_Id", "X_Forwarded_Host", "X_Forwarded_For", "X_Forwarded_Prefix", "X_Real_IP"];
    for (const name of refused) {
      const keyed = await raw(`${fx.edge.base}/Users`, { headers: { authorization: `Bearer ${key}`, [name]: "/v2/Groups" } });
      await assertRefused(keyed, 400, "header_refused");
      const keyless = await raw(`${fx.edge.base}/ServiceProviderConfig`, { headers: { [name]: "/v2/Users" } });
      await assertRefused(keyless, 400, "header_refused");
    }
    // The example: a read-only search that an origin would re-route as a create.
    const search = await raw(`${fx.edge.base}/Users/.search`, {
      method: "POST",
      headers: { authorization: `Bearer ${readOnly}`, "content-type": "application/scim+json", "X-Rewrite-URL": "/v2/Users" },
      body: JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"] }),
    });
    await assertRefused(search, 400, "header_refused");
    for (const name of ["X_HTTP_Method_Override", "X-HTTP-Method-Override", "x_http_method"]) {
      const res = await raw(`${fx.edge.base}/Users`, { headers: { authorization: `Bearer ${key}`, [name]: "DELETE" } });
      await assertRefused(res, 405, "method_not_allowed");
    }
  });

  test("a key in the path, as a resource name or an id, in any case or encoding: 400 key_in_path, never logged", async () => {
    for (const p of [`/${key}`, `/Users/${key}`, `/Users/${key.toLowerCase()}`, `/Users/${encodeURIComponent(key).replace("p", "%70")}`, `/Users/%2570vk_${key.slice(4)}`, "/Users/pvm_0123456789", "/PVA_x"]) {
      const res = await raw(`${fx.edge.base}${p}`, { headers: { authorization: `Bearer ${key}` } });
      const line = await assertRefused(res, 400, "key_in_path");
      assert.equal(line.resource, null, "the caller's segment is not logged");
    }
    for (const q of [`x=${key.toUpperCase()}`, "filter=pvr_1", `a=%2570vk_1`]) {
      const res = await raw(`${fx.edge.base}/Users?${q}`, { headers: { authorization: `Bearer ${key}` } });
      await assertRefused(res, 400, "key_in_query");
    }
  });

  test("a key in the path is refused without any lookup: an edge without KV still answers 400", async () => {
    const noKv = await startEdge({ originUrl: fx.origin.url, pepper, kv: false });
    try {
      const res = await raw(`${noKv.base}/Users/${key}`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 400);
      assert.equal((await noKv.auditFor(res.headers["x-request-id"])).reason, "key_in_path");
      const control = await raw(`${noKv.base}/Users/1`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(control.status, 503, "the same request with a plain id does need KV");
    } finally {
      await noKv.stop();
    }
  });

  test("a custom resource is logged as a bounded hash, never as the caller spelled it", async () => {
    const res = await raw(`${fx.edge.base}/Devices/7`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 200);
    const line = await fx.edge.auditFor(res.headers["x-request-id"]);
    assert.match(line.resource, /^custom:[0-9a-f]{8}$/);
    const denied = await raw(`${fx.edge.base}/Devices`, { headers: { authorization: `Bearer ${readOnly}` } });
    assert.equal((await fx.edge.auditFor(denied.headers["x-request-id"])).resource, line.resource, "same name, same hash, before authorization too");
  });

  test("GET, HEAD and DELETE with a body: 400 body_not_allowed, with or without a key, chunked or not", async () => {
    for (const method of ["GET", "HEAD", "DELETE"]) {
      const res = await raw(`${fx.edge.base}/Users/1`, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: "{}" });
      assert.equal(res.status, 400, method);
      if (method !== "HEAD") await assertRefused(res, 400, "body_not_allowed");
    }
    const keyless = await raw(`${fx.edge.base}/ServiceProviderConfig`, { body: "{}" });
    await assertRefused(keyless, 400, "body_not_allowed");
    const host = new URL(fx.edge.url).host;
    const chunked = await rawBytes(fx.edge.url, Buffer.from(`GET /scim/v2/ServiceProviderConfig HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`));
    await assertRefused(chunked, 400, "body_not_allowed");
    const empty = await raw(`${fx.edge.base}/Users`, { headers: { authorization: `Bearer ${key}`, "content-length": "0" } });
    assert.equal(empty.status, 200, "an empty body is no body");
  });

  test("an encoded body is refused (415) before anything is authorised or forwarded", async () => {
    for (const [p, body] of [["/Users", JSON.stringify({ schemas: [USER], userName: "gz@example.com" })], ["/Bulk", JSON.stringify({ Operations: [] })]]) {
      const res = await raw(`${fx.edge.base}${p}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/scim+json", "content-encoding": "gzip" }, body });
      await assertRefused(res, 415, "content_encoding_refused");
    }
    const identity = await raw(`${fx.edge.base}/Users`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/scim+json", "content-encoding": "identity" }, body: "{}" });
    assert.equal(identity.status, 200);
    assert.equal(fx.origin.received[0].headers["content-encoding"], undefined, "not forwarded either");
  });

  test("/Bulk names that collide under Unicode case folding, or are not ASCII, are refused", async () => {
    const op = '{"method":"POST","path":"/Groups","bulkId":"g","data":{}}';
    for (const body of [
      `{"Operations":[],"Operat\u0131ons":[${op}]}`,
      `{"Operations":[],"Operation\u017f":[${op}]}`,
      `{"Operations":[{"method":"POST","path":"/Users","P\u0430th":"/Groups"}]}`,
      `{"Operations":[{"method":"POST","path":"/Users","data":{},"Data":{}}]}`,
    ]) {
      const res = await raw(`${fx.edge.base}/Bulk`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/scim+json" }, body });
      await assertRefused(res, 400, "bulk_invalid", { keyId });
    }
  });

  test("PROPFIND and OPTIONS get 405 before anything, logged as OTHER and OPTIONS", async () => {
    for (const [method, logged] of [["PROPFIND", "OTHER"], ["OPTIONS", "OPTIONS"], ["MKCOL", "OTHER"]]) {
      const res = await raw(`${fx.edge.base}/Users`, { method, headers: { authorization: `Bearer ${key}` } });
      const line = await assertRefused(res, 405, "method_not_allowed");
      assert.equal(line.method, logged);
    }
  });

  test(".search in any case is forwarded canonical", async () => {
    const res = await raw(`${fx.edge.base}/users/.SEARCH`, { method: "POST", headers: { authorization: `Bearer ${readOnly}`, "content-type": "application/scim+json" }, body: "{}" });
    assert.equal(res.status, 200, res.text);
    assert.equal(fx.origin.received[0].url, "/v2/Users/.search");
  });

  test("ids whose decoded form is or reads (NFKC) as path syntax are refused", async () => {
    for (const id of ["%E2%80%A5%EF%BC%8F", "%EF%BC%8E%EF%BC%8E", "a%3Fb", "a%23b", "%EF%BC%BCx"]) {
      const res = await raw(`${fx.edge.base}/Users/${id}`, { headers: { authorization: `Bearer ${key}` } });
      await assertRefused(res, 400, "path_not_canonical");
    }
    const fine = await raw(`${fx.edge.base}/Users/caf%C3%A9`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(fine.status, 200);
    assert.equal(fx.origin.received[0].url, "/v2/Users/caf%C3%A9");
  });
});

describe("configuration the edge refuses", () => {
  test("an empty RESOURCE_TYPES or a FORWARD_HEADERS entry the edge owns is misconfigured", async () => {
    const origin = await startRecordingOrigin();
    const edges = [];
    try {
      for (const vars of [{ RESOURCE_TYPES: ",," }, { FORWARD_HEADERS: "X-Forwarded-For" }, { FORWARD_HEADERS: "x_trace" }, { FORWARD_HEADERS: "Authorization" }, { DOCTOR: "maybe" }]) {
        const edge = await startEdge({ originUrl: origin.url, pepper, vars });
        edges.push(edge);
        const { key } = await mintKey(edge, pepper);
        const res = await raw(`${edge.base}/.search`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/scim+json" }, body: "{}" });
        assert.equal(res.status, 500, JSON.stringify(vars));
        assert.equal((await edge.auditFor(res.headers["x-request-id"])).reason, "misconfigured");
      }
      assert.equal(origin.received.length, 0);
    } finally {
      for (const edge of edges) await edge.stop();
      await origin.stop();
    }
  });
});

describe("plain HTTP", () => {
  test("REQUIRE_HTTPS: http from a remote address is refused 403 without reading a key; https and loopback pass", async () => {
    const origin = await startRecordingOrigin();
    const edge = await startEdge({ originUrl: origin.url, pepper });
    const noKv = await startEdge({ originUrl: origin.url, pepper, kv: false });
    const off = await startEdge({ originUrl: origin.url, pepper, vars: { REQUIRE_HTTPS: "false" } });
    try {
      const { key } = await mintKey(edge, pepper);
      const remote = { authorization: `Bearer ${key}`, "cf-connecting-ip": "203.0.113.50" };
      for (const p of ["/scim/v2/Users", "/_provgate/check", "/scim/v2/ServiceProviderConfig"]) {
        const res = await raw(`${edge.url}${p}`, { method: p.includes("check") ? "POST" : "GET", headers: remote });
        assert.equal(res.status, 403, p);
        const line = await edge.auditFor(res.headers["x-request-id"]);
        assert.deepEqual([line.reason, line.key_id], ["https_required", null], p);
      }
      const withoutKv = await raw(`${noKv.base}/Users`, { headers: remote });
      assert.equal(withoutKv.status, 403, "refused before any KV read");
      const https = await edge.mf.dispatchFetch(`https://edge.example/scim/v2/Users`, { headers: remote });
      assert.equal(https.status, 200, await https.text());
      const loopback = await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(loopback.status, 200, "make dev and the tests: http from loopback");
      const offKey = (await mintKey(off, pepper)).key;
      const allowed = await raw(`${off.base}/Users`, { headers: { authorization: `Bearer ${offKey}`, "cf-connecting-ip": "203.0.113.50" } });
      assert.equal(allowed.status, 200, "REQUIRE_HTTPS=false serves http");
      assert.equal(origin.received.length, 3);
    } finally {
      await edge.stop();
      await noKv.stop();
      await off.stop();
      await origin.stop();
    }
  });
});

describe("the connection doctor's check", () => {
  let origin, edge;
  before(async () => {
    origin = await startRecordingOrigin();
    edge = await startEdge({ originUrl: origin.url, pepper, vars: { RECORD_CACHE_TTL_SECONDS: "60" } });
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
  });
  /** The check as a remote IdP admin's browser sends it: over HTTPS, from `ip`. */
  const check = (key, ip) =>
    edge.mf.dispatchFetch("https://edge.example/_provgate/check", { method: "POST", headers: { authorization: `Bearer ${key}`, "cf-connecting-ip": ip } });

  test("it is counted as introspected, raises new_source, and reveals no label", async () => {
    const { key, keyId } = await mintKey(edge, pepper, { label: "Okta production (secret project)" });
    // A key never used has no guard, and a check does not create one (see check.rs): the IdP's
    // first request does, and writes the first use into the key's summary.
    const used = await edge.mf.dispatchFetch(`https://edge.example/scim/v2/Users`, { headers: { authorization: `Bearer ${key}`, "cf-connecting-ip": "192.0.2.10" } });
    assert.equal(used.status, 200);
    for (let i = 0; i < 100 && !(await edge.kv.getWithMetadata(`id:${keyId}`)).metadata?.u; i++) await new Promise((done) => setTimeout(done, 100));
    const first = await check(key, "192.0.2.10");
    const info = await first.json();
    assert.equal(first.status, 200);
    assert.ok(!("label" in info) && !JSON.stringify(info).includes("secret project"));
    assert.equal(info.usage.windows["1h"].introspected, 1, "the check itself is counted");
    const second = await (await check(key, "198.51.100.20")).json();
    assert.equal(second.usage.windows["1h"].introspected, 2);
    await new Promise((r) => setTimeout(r, 200));
    const warnings = edge.eventLines("new_source").filter((l) => l.key_id === keyId);
    assert.equal(warnings.length, 1, "a check from a new address is a new source");
    assert.equal(warnings[0].source.ip, "198.51.100.20");
  });

  test("it is metered by the key's guard: over the key's rate, 429", async () => {
    const { key } = await mintKey(edge, pepper, { edit: (r) => ({ ...r, rate_per_minute: 1, burst: 1 }) });
    assert.equal((await check(key, "192.0.2.11")).status, 200);
    const over = await check(key, "192.0.2.11");
    assert.equal(over.status, 429);
    assert.ok(Number(over.headers.get("retry-after")) >= 1);
    assert.equal((await edge.auditFor(over.headers.get("x-request-id"))).reason, "rate_limited");
  });

  test("it reads the record through the same cached lookup as requests", async () => {
    const { key, name } = await mintKey(edge, pepper);
    assert.equal((await check(key, "192.0.2.12")).status, 200);
    await edge.kv.delete(name);
    const cached = await (await check(key, "192.0.2.12")).json();
    assert.equal(cached.valid, true, "within RECORD_CACHE_TTL_SECONDS the isolate's copy answers, as for requests");
  });
});

describe("keyless public discovery", () => {
  test("is metered per client address (DISCOVERY_LIMIT): 429 over it, keyed discovery unaffected", async () => {
    const origin = await startRecordingOrigin();
    const edge = await startEdge({ originUrl: origin.url, pepper, discoveryLimit: 3 });
    try {
      const { key } = await mintKey(edge, pepper);
      const statuses = [];
      await clearOfWindowEdge();
      for (let i = 0; i < 5; i++) statuses.push((await raw(`${edge.base}/ServiceProviderConfig`)).status);
      assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
      const over = await raw(`${edge.base}/ServiceProviderConfig`);
      assert.equal(over.status, 429);
      assert.equal(over.headers["retry-after"], "60");
      assert.equal((await edge.auditFor(over.headers["x-request-id"])).reason, "discovery_throttled");
      assert.equal((await raw(`${edge.base}/ServiceProviderConfig`, { headers: { authorization: `Bearer ${key}` } })).status, 200, "a key is not metered by it");
      assert.equal(origin.received.filter((r) => !r.headers["x-provgate-key-id"]).length, 3);
    } finally {
      await edge.stop();
      await origin.stop();
    }
  });
});

describe("make dev's client address", () => {
  test("the proxy in front of the dev server overwrites CF-Connecting-IP and drops MF-* headers", async () => {
    const origin = await startRecordingOrigin();
    const edge = await startEdge({ originUrl: origin.url, pepper });
    const proxy = await startClientAddressProxy({ targetPort: Number(new URL(edge.url).port) });
    const front = `http://127.0.0.1:${proxy.address().port}`;
    try {
      const { key } = await mintKey(edge, pepper, { allowIp: "203.0.113.0/24" });
      const spoofed = { authorization: `Bearer ${key}`, "cf-connecting-ip": "203.0.113.9", "mf-original-url": "https://evil.example/scim/v2/Users" };
      const res = await raw(`${front}/scim/v2/Users`, { headers: spoofed });
      assert.equal(res.status, 403, res.text);
      const line = await edge.auditFor(res.headers["x-request-id"]);
      assert.deepEqual([line.reason, line.client_ip], ["ip_denied", "127.0.0.1"], "the socket's address, not the header's");
      const { key: open } = await mintKey(edge, pepper);
      const passed = await raw(`${front}/scim/v2/Users`, { headers: { ...spoofed, authorization: `Bearer ${open}` } });
      assert.equal(passed.status, 200);
      assert.equal(origin.received.at(-1).headers["x-forwarded-host"], `127.0.0.1:${proxy.address().port}`, "the URL the client called, not MF-Original-URL's");
    } finally {
      proxy.close();
      await edge.stop();
      await origin.stop();
    }
  });
});

describe("verifiable by others", () => {
  test("every forward to scim2-server passes http-message-signatures as well as the example verifier", async () => {
    const token = randomSecret();
    const origin = await startScimOrigin({ token, signingSecrets: [SIGNING_SECRET] });
    const edge = await startEdge({ originUrl: origin.url, originAuthorization: `Bearer ${token}`, pepper });
    try {
      const { key } = await mintKey(edge, pepper, { tenant: "acme" });
      const h = { authorization: `Bearer ${key}`, "content-type": "application/scim+json" };
      const created = await raw(`${edge.base}/Users`, { method: "POST", headers: h, body: JSON.stringify({ schemas: [USER], userName: "indep@example.com" }) });
      assert.equal(created.status, 201, created.text);
      const id = created.json().id;
      for (const [method, p, body] of [
        ["GET", `/Users/${id}`],
        ["GET", `/Users?filter=${encodeURIComponent('userName eq "indep@example.com"')}`],
        ["GET", "/Users/indep%40example.com"],
        ["POST", "/Users/.SEARCH", JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], count: 1 })],
        ["PATCH", `/Users/${id}`, JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "active", value: false }] })],
        ["DELETE", `/Users/${id}`],
      ]) {
        const res = await raw(`${edge.base}${p}`, { method, headers: h, body });
        assert.ok(res.status < 400 || res.status === 404, `${method} ${p}: ${res.status} ${res.text}`);
        assert.notEqual(res.status, 502);
      }
      const keyless = await raw(`${edge.base}/ServiceProviderConfig`);
      assert.equal(keyless.status, 200);
      assert.ok(!/rejected/.test(origin.stderr()), origin.stderr());
    } finally {
      await edge.stop();
      await origin.stop();
    }
  });

  test("the published test vectors verify under both verifiers, and every tampered copy fails under both", () => {
    const run = spawnSync(path.join(ROOT, ".venv/bin/python"), [path.join(ROOT, "tests/origin/check_vectors.py")], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.vectors, 5);
    assert.equal(result.tampered_refused, 50);
    assert.deepEqual(result.failures, []);
  });
});
