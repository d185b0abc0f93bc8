// Least privilege end to end: scopes whatever the spelling, /Bulk op by op,
// tenant binding, IP allowlists, failed-attempt throttling, public
// discovery. A recording origin counts what reaches it.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { startEdge, startRecordingOrigin, mintKey, raw, randomSecret, recordingEdgeFixture } from "./harness.mjs";

const pepper = randomSecret();
const BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

describe("scopes, spelling and /Bulk", () => {
  const fx = recordingEdgeFixture({ pepper });

  test("a users:read key gets nothing but Users reads through, however the path is spelled", async () => {
    const { key } = await mintKey(fx.edge, pepper, { scopes: "users:read" });
    const auth = { authorization: `Bearer ${key}` };
    const allowed = [
      ["GET", "/Users"],
      ["GET", "/users/"],
      ["GET", "/USERS/2819c223"],
      ["HEAD", "/Users/2819c223"],
      ["POST", "/Users/.search"],
      ["GET", "/Users/a%40b"],
      ["GET", "/Schemas"],
    ];
    // Spelling tricks must never reach Groups. The Workers runtime parses the
    // target as a WHATWG URL before the edge sees it (`\` → `/`, `%2e%2e` → `..`,
    // dot segments resolved), so some are refused by the edge (400) and others
    // arrive already resolved to /Groups and are refused by scope (403).
    const DENIED = [400, 403, 404];
    const denied = [
      ["GET", "/Groups"],
      ["GET", "/groups/x"],
      ["POST", "/Users"],
      ["PATCH", "/users/x"],
      ["PUT", "/Users/x"],
      ["DELETE", "/Users/x"],
      ["GET", "/Users/..%2FGroups"],
      ["GET", "/Users%2F..%2FGroups"],
      ["GET", "/Users/%2e%2e/Groups"],
      ["GET", "/Users/%252e%252e/Groups"],
      ["GET", "/Users/..\\Groups"],
      ["GET", "/Groups\\x"],
      ["GET", "/Users;x=1"],
      ["GET", "/Users//x"],
      ["GET", "/Users/%00"],
      ["GET", "/Users/%FF"],
      ["GET", "/Users/a/Groups"],
      ["GET", "/Me"],
      ["POST", "/.search"],
      ["POST", "/Bulk"],
      ["POST", "/Groups/.search"],
    ];
    fx.origin.received.length = 0;
    for (const [method, path] of allowed) {
      const res = await raw(`${fx.edge.base}${path}`, { method, headers: auth, body: method === "POST" ? "{}" : undefined });
      assert.equal(res.status, 200, `${method} ${path}: ${res.text}`);
    }
    for (const [method, path] of denied) {
      const res = await raw(`${fx.edge.base}${path}`, { method, headers: auth, body: method === "GET" || method === "HEAD" ? undefined : "{}" });
      assert.ok(DENIED.includes(res.status), `${method} ${path}: ${res.status} ${res.text}`);
    }
    assert.equal(fx.origin.received.length, allowed.length, "only the allowed requests reached the origin");
    for (const r of fx.origin.received) {
      assert.match(r.url, /^\/v2\/(Users|Schemas)(\/|$|\?)/, r.url);
      assert.ok(["GET", "HEAD", "POST"].includes(r.method));
    }
    const names = fx.origin.received.map((r) => r.url);
    assert.ok(names.includes("/v2/Users/2819c223"), "resource names are forwarded canonical");
  });

  test("403 names the missing scope", async () => {
    const { key } = await mintKey(fx.edge, pepper, { scopes: "users:read" });
    const res = await raw(`${fx.edge.base}/Groups`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 403);
    assert.match(res.json().detail, /groups:read/);
  });

  test("/Me needs the me scope", async () => {
    const plain = await mintKey(fx.edge, pepper, { scopes: "users:read,users:write" });
    const me = await mintKey(fx.edge, pepper, { scopes: "me" });
    assert.equal((await raw(`${fx.edge.base}/Me`, { headers: { authorization: `Bearer ${plain.key}` } })).status, 403);
    assert.equal((await raw(`${fx.edge.base}/Me`, { headers: { authorization: `Bearer ${me.key}` } })).status, 200);
  });

  test("root /.search needs read on every resource type", async () => {
    const one = await mintKey(fx.edge, pepper, { scopes: "users:read" });
    const both = await mintKey(fx.edge, pepper, { scopes: "users:read,groups:read" });
    const search = (key) => raw(`${fx.edge.base}/.search`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: "{}" });
    assert.equal((await search(one.key)).status, 403);
    assert.equal((await search(both.key)).status, 200);
  });

  test("/Bulk with one forbidden operation is denied whole, naming its bulkId, and reaches nothing", async () => {
    const { key } = await mintKey(fx.edge, pepper, { scopes: "bulk,users:write" });
    const auth = { authorization: `Bearer ${key}`, "content-type": "application/scim+json" };
    const body = (ops) => JSON.stringify({ schemas: [BULK], Operations: ops });
    const userOp = { method: "POST", path: "/Users", bulkId: "u1", data: { userName: "a" } };
    const groupOp = { method: "POST", path: "/Groups", bulkId: "g1", data: { displayName: "admins" } };
    fx.origin.received.length = 0;

    const res = await raw(`${fx.edge.base}/Bulk`, { method: "POST", headers: auth, body: body([userOp, groupOp]) });
    assert.equal(res.status, 403);
    assert.match(res.json().detail, /"g1"/);
    assert.match(res.json().detail, /groups:write/);

    const sneaky = [
      JSON.stringify({ schemas: [BULK], Operations: [userOp], operations: [groupOp] }),
      `{"schemas":["${BULK}"],"Operations":[{"method":"POST","path":"/Users","path":"/Groups","bulkId":"x"}]}`,
      body([{ ...groupOp, method: "post", path: "/groups" }]),
      body([{ method: "POST", path: "/Users/../Groups", bulkId: "d" }]),
      body([{ method: "GET", path: "/Groups", bulkId: "r" }]),
      "not json",
    ];
    for (const b of sneaky) {
      const r = await raw(`${fx.edge.base}/Bulk`, { method: "POST", headers: auth, body: b });
      assert.ok([400, 403].includes(r.status), `${b}: ${r.status} ${r.text}`);
    }
    assert.equal(fx.origin.received.length, 0, "no denied bulk request reached the origin");

    const ok = await raw(`${fx.edge.base}/Bulk`, { method: "POST", headers: auth, body: body([userOp]) });
    assert.equal(ok.status, 200);
    assert.equal(fx.origin.received.length, 1);
    assert.equal(fx.origin.received[0].body, body([userOp]), "the bulk body is forwarded unchanged");
  });

  test("bodies over MAX_BODY_BYTES are refused even without a truthful Content-Length", async () => {
    const small = await startEdge({ originUrl: fx.origin.url, pepper, vars: { MAX_BODY_BYTES: "1000" } });
    try {
      const { key } = await mintKey(small, pepper, { scopes: "*" });
      fx.origin.received.length = 0;
      // node:http sends chunked (no Content-Length) when none is set and the body is written later.
      const res = await raw(`${small.base}/Users`, { method: "POST", headers: { authorization: `Bearer ${key}`, "transfer-encoding": "chunked" }, body: "x".repeat(5000) });
      assert.equal(res.status, 413);
      assert.equal(fx.origin.received.length, 0);
    } finally {
      await small.stop();
    }
  });
});

describe("tenant binding", () => {
  test("a key reaches only its own tenant's origin, and an untenanted key none", async () => {
    const origin = await startRecordingOrigin();
    const edge = await startEdge({ originUrl: origin.url.replace("/v2", "/t/{tenant}/v2"), pepper });
    try {
      const acme = await mintKey(edge, pepper, { tenant: "acme" });
      const globex = await mintKey(edge, pepper, { tenant: "globex" });
      const none = await mintKey(edge, pepper);
      assert.equal((await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${acme.key}` } })).status, 200);
      assert.equal((await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${globex.key}` } })).status, 200);
      const res = await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${none.key}` } });
      assert.equal(res.status, 403);
      assert.equal((await edge.auditFor(res.headers["x-request-id"])).reason, "tenant_missing");
      assert.deepEqual(origin.received.map((r) => r.url), ["/t/acme/v2/Users", "/t/globex/v2/Users"]);
      assert.equal(origin.received[0].headers["x-provgate-tenant"], "acme");
      // The origin's path (/t/acme/v2) is not a suffix of the edge's (/scim/v2): the prefix is the whole edge base.
      assert.equal(origin.received[0].headers["x-forwarded-prefix"], "/scim/v2");
    } finally {
      await edge.stop();
      await origin.stop();
    }
  });

  test("a record whose tenant could escape the URL is refused", async () => {
    const origin = await startRecordingOrigin();
    const edge = await startEdge({ originUrl: origin.url.replace("/v2", "/t/{tenant}/v2"), pepper });
    try {
      for (const tenant of ["..", "a/b", "evil.com@x", "a%2f"]) {
        const k = await mintKey(edge, pepper, { edit: (r) => ({ ...r, tenant }) });
        const res = await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${k.key}` } });
        assert.equal(res.status, 500, tenant);
      }
      assert.equal(origin.received.length, 0);
    } finally {
      await edge.stop();
      await origin.stop();
    }
  });
});

describe("client addresses", () => {
  // These requests play remote clients (CF-Connecting-IP) over the harness's
  // plain HTTP; on Cloudflare they would arrive over HTTPS.
  const fx = recordingEdgeFixture({ pepper, vars: { REQUIRE_HTTPS: "false" } });

  test("an allowlisted key works only from its networks", async () => {
    const { key } = await mintKey(fx.edge, pepper, { allowIp: "203.0.113.0/24,2001:db8::/32" });
    const from = (ip) => raw(`${fx.edge.base}/Users`, { headers: { authorization: `Bearer ${key}`, "cf-connecting-ip": ip } });
    assert.equal((await from("203.0.113.77")).status, 200);
    assert.equal((await from("2001:db8:5::1")).status, 200);
    const res = await from("198.51.100.7");
    assert.equal(res.status, 403);
    assert.equal((await fx.edge.auditFor(res.headers["x-request-id"])).reason, "ip_denied");
    assert.equal((await from("2001:db9::1")).status, 403);
  });

  test("101 bad keys from one address are throttled, while a valid key from it still passes", async () => {
    const good = await mintKey(fx.edge, pepper);
    const unknown = await mintKey(null, pepper);
    const ip = "192.0.2.55";
    // The binding counts in 60 s windows: if a window ends mid-run the count
    // restarts, so the 429 may come later than the 101st, but never earlier.
    const statuses = [];
    for (let i = 0; i < 300 && !statuses.includes(429); i++) {
      const authorization = i % 2 ? "Bearer garbage" : `Bearer ${unknown.key}`;
      const res = await raw(`${fx.edge.base}/Users`, { headers: { authorization, "cf-connecting-ip": ip } });
      statuses.push(res.status);
      if (res.status === 429) assert.equal(res.headers["retry-after"], "60");
    }
    const first = statuses.indexOf(429);
    assert.ok(first >= 100, `no throttling before the 101st failure (first 429 at ${first + 1})`);
    assert.deepEqual(statuses.slice(0, first), Array(first).fill(401));
    const res = await raw(`${fx.edge.base}/Users`, { headers: { authorization: `Bearer ${good.key}`, "cf-connecting-ip": ip } });
    assert.equal(res.status, 200, "a valid key is never throttled by failed attempts");
    const other = await raw(`${fx.edge.base}/Users`, { headers: { authorization: "Bearer garbage", "cf-connecting-ip": "192.0.2.56" } });
    assert.equal(other.status, 401, "other addresses are not affected");
  });
});

describe("public discovery", () => {
  test("ServiceProviderConfig is readable without a key unless PUBLIC_DISCOVERY=false; nothing else is", async () => {
    const origin = await startRecordingOrigin();
    const open = await startEdge({ originUrl: origin.url, pepper });
    const closed = await startEdge({ originUrl: origin.url, pepper, vars: { PUBLIC_DISCOVERY: "false" } });
    try {
      const res = await raw(`${open.base}/ServiceProviderConfig`);
      assert.equal(res.status, 200);
      assert.equal(origin.received.at(-1).headers["x-provgate-key-id"], undefined);
      assert.equal((await open.auditFor(res.headers["x-request-id"])).decision, "allow");
      assert.equal((await raw(`${open.base}/ServiceProviderConfig`, { headers: { authorization: "Bearer garbage" } })).status, 401, "a bad key is still refused");
      assert.equal((await raw(`${open.base}/Schemas`)).status, 401);
      assert.equal((await raw(`${open.base}/Users`)).status, 401);
      assert.equal((await raw(`${closed.base}/ServiceProviderConfig`)).status, 401);
    } finally {
      await open.stop();
      await closed.stop();
      await origin.stop();
    }
  });
});
