// Real IdP traffic shapes (from Okta's, Entra ID's and OneLogin's public
// SCIM documentation) through the edge, against scim2-server behind the
// signature verifier, plus the checks scim2-tester is blind to.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startEdge, startScimOrigin, startRecordingOrigin, mintKey, raw, randomSecret, SIGNING_SECRET } from "./harness.mjs";

const pepper = randomSecret();
const token = randomSecret();
const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SCIM_JSON = { "content-type": "application/scim+json" };

let origin, plain, edge, key;
before(async () => {
  origin = await startScimOrigin({ token, signingSecrets: [SIGNING_SECRET] });
  plain = await startScimOrigin({ token }); // for direct comparisons only
  edge = await startEdge({ originUrl: origin.url, originAuthorization: `Bearer ${token}`, pepper });
  ({ key } = await mintKey(edge, pepper, { scopes: "users:read,users:write,groups:read,groups:write,bulk" }));
});
after(async () => {
  await edge?.stop();
  await origin?.stop();
  await plain?.stop();
});

/** A call through the edge; `auth` is the Authorization value (default Bearer). */
const call = (method, path, { body, headers = {}, auth = `Bearer ${key}` } = {}) =>
  raw(`${edge.base}${path}`, { method, headers: { authorization: auth, ...SCIM_JSON, ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
const newUser = (userName, extra = {}) => ({ schemas: [USER], userName, name: { givenName: "Bar", familyName: "Foo" }, emails: [{ value: userName, primary: true }], active: true, ...extra });

describe("Okta", () => {
  test("test connection in HTTP Header (bare key) and Bearer modes", async () => {
    for (const auth of [key, `Bearer ${key}`]) {
      const res = await call("GET", "/Users?startIndex=1&count=2", { auth });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json().schemas, ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]);
    }
  });

  test("push user: lookup by filter, create with a password, update by GET then PUT, deactivate by PATCH and by PUT", async () => {
    const userName = `okta.${randomUUID()}@example.com`;
    const lookup = `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`;
    assert.equal((await call("GET", lookup)).json().totalResults, 0);
    const created = await call("POST", "/Users", { body: newUser(userName, { password: "Okta-sends-this-1!" }) });
    assert.equal(created.status, 201, created.text);
    const id = created.json().id;
    assert.equal((await call("GET", lookup)).json().totalResults, 1, "the filter finds exactly the new user");

    const current = (await call("GET", `/Users/${id}`)).json();
    const put = await call("PUT", `/Users/${id}`, { body: { ...current, name: { givenName: "Baz", familyName: "Foo" } } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json().name.givenName, "Baz");

    const patch = await call("PATCH", `/Users/${id}`, { body: { schemas: [PATCH], Operations: [{ op: "replace", value: { active: false } }] } });
    assert.ok([200, 204].includes(patch.status), patch.text);
    assert.equal((await call("GET", `/Users/${id}`)).json().active, false);

    const again = (await call("GET", `/Users/${id}`)).json();
    const reactivate = await call("PUT", `/Users/${id}`, { body: { ...again, active: true } });
    assert.equal(reactivate.status, 200);
    const deactivate = await call("PUT", `/Users/${id}`, { body: { ...reactivate.json(), active: false } });
    assert.equal(deactivate.status, 200);
    assert.equal(deactivate.json().active, false);
  });

  test("group push: create, add and remove members by PATCH, delete", async () => {
    const u = (await call("POST", "/Users", { body: newUser(`member.${randomUUID()}@example.com`) })).json();
    const g = await call("POST", "/Groups", { body: { schemas: [GROUP], displayName: `okta-${randomUUID()}`, members: [] } });
    assert.equal(g.status, 201, g.text);
    const gid = g.json().id;
    const add = await call("PATCH", `/Groups/${gid}`, { body: { schemas: [PATCH], Operations: [{ op: "add", path: "members", value: [{ value: u.id }] }] } });
    assert.ok([200, 204].includes(add.status), add.text);
    assert.deepEqual((await call("GET", `/Groups/${gid}`)).json().members.map((m) => m.value), [u.id]);
    const remove = await call("PATCH", `/Groups/${gid}`, { body: { schemas: [PATCH], Operations: [{ op: "remove", path: `members[value eq "${u.id}"]` }] } });
    assert.ok([200, 204].includes(remove.status), remove.text);
    assert.deepEqual((await call("GET", `/Groups/${gid}`)).json().members ?? [], []);
    assert.equal((await call("DELETE", `/Groups/${gid}`)).status, 204);
    assert.equal((await call("GET", `/Groups/${gid}`)).status, 404);
  });

  test("import pages with count=100", async () => {
    const res = await call("GET", "/Users?startIndex=1&count=100");
    assert.equal(res.status, 200);
    const page = res.json();
    assert.ok(page.totalResults >= 1 && page.Resources.length <= 100);
  });

  test("Content-Type text/json gets the same answer through the edge as directly", async () => {
    const body = (n) => JSON.stringify(newUser(`textjson.${n}.${randomUUID()}@example.com`));
    const viaEdge = await raw(`${edge.base}/Users`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "text/json" }, body: body(1) });
    const direct = await raw(`${plain.url}/Users`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "text/json" }, body: body(2) });
    assert.equal(viaEdge.status, direct.status, `${viaEdge.text} vs ${direct.text}`);
  });
});

describe("Microsoft Entra ID", () => {
  const tenantUrl = "?aadOptscim062020";
  test("test connection: a random GUID filter gives 200 and an empty ListResponse", async () => {
    const res = await call("GET", `/Users${tenantUrl}&filter=${encodeURIComponent(`userName eq "${randomUUID()}"`)}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().totalResults, 0);
  });

  test("create, PATCH with capitalised ops, groups without members, delete", async () => {
    const created = await call("POST", `/Users${tenantUrl}`, { body: newUser(`entra.${randomUUID()}@example.com`, { externalId: randomUUID() }) });
    assert.equal(created.status, 201, created.text);
    const id = created.json().id;
    const ops = [
      { op: "Replace", path: "displayName", value: "Entra Replaced" },
      { op: "Add", path: "title", value: "Engineer" },
      { op: "Remove", path: "title" },
      { op: "Replace", path: "active", value: "False" },
    ];
    for (const op of ops) {
      const res = await call("PATCH", `/Users/${id}${tenantUrl}`, { body: { schemas: [PATCH], Operations: [op] } });
      // The edge forwards Entra's capitalised ops untouched; whatever the origin says passes back.
      assert.ok([200, 204].includes(res.status), `${op.op} ${op.path}: ${res.status} ${res.text}`);
    }
    const user = (await call("GET", `/Users/${id}${tenantUrl}`)).json();
    assert.equal(user.displayName, "Entra Replaced");
    assert.equal(user.title, undefined);
    assert.equal(user.active, false, 'Entra\'s "False" string deactivates');

    const g = await call("POST", `/Groups${tenantUrl}`, { body: { schemas: [GROUP], displayName: `entra-${randomUUID()}`, members: [{ value: id }] } });
    assert.equal(g.status, 201, g.text);
    const list = await call("GET", `/Groups${tenantUrl}&excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${g.json().displayName}"`)}`);
    assert.equal(list.status, 200);
    assert.equal(list.json().totalResults, 1);
    assert.equal(list.json().Resources[0].members, undefined, "members excluded");
    assert.equal((await call("DELETE", `/Users/${id}${tenantUrl}`)).status, 204);
  });

  test("?aadOptscim062020 reaches the origin on every call, byte for byte", async () => {
    const recording = await startRecordingOrigin();
    const edge2 = await startEdge({ originUrl: recording.url, pepper });
    try {
      const k = await mintKey(edge2, pepper);
      const calls = [
        ["GET", `/Users?aadOptscim062020&filter=userName+eq+%22a%40b.c%22`],
        ["GET", `/Users?filter=userName%20eq%20%22a%40b.c%22&aadOptscim062020`],
        ["PATCH", "/Users/abc?aadOptscim062020"],
        ["DELETE", "/Users/abc?aadOptscim062020"],
        ["GET", "/Groups?aadOptscim062020&excludedAttributes=members"],
      ];
      for (const [method, path] of calls) {
        await raw(`${edge2.base}${path}`, { method, headers: { authorization: `Bearer ${k.key}` }, body: method === "PATCH" ? "{}" : undefined });
      }
      assert.deepEqual(recording.received.map((r) => `${r.method} ${r.url}`), calls.map(([m, p]) => `${m} /v2${p}`));
    } finally {
      await edge2.stop();
      await recording.stop();
    }
  });
});

describe("OneLogin", () => {
  test("Bearer create, update, deactivate", async () => {
    const created = await call("POST", "/Users", { body: newUser(`onelogin.${randomUUID()}@example.com`) });
    assert.equal(created.status, 201);
    const id = created.json().id;
    const updated = await call("PUT", `/Users/${id}`, { body: { ...created.json(), title: "Manager" } });
    assert.equal(updated.status, 200);
    assert.equal(updated.json().title, "Manager");
    const off = await call("PATCH", `/Users/${id}`, { body: { schemas: [PATCH], Operations: [{ op: "replace", path: "active", value: false }] } });
    assert.ok([200, 204].includes(off.status), off.text);
    assert.equal((await call("GET", `/Users/${id}`)).json().active, false);
  });
});

describe("what scim2-tester does not check", () => {
  test("ETag and If-Match pass through; a stale If-Match gets the origin's 412", async () => {
    const created = await call("POST", "/Users", { body: newUser(`etag.${randomUUID()}@example.com`) });
    const id = created.json().id;
    const etag = created.headers.etag;
    assert.ok(etag, "ETag passes through");
    const fresh = await call("PUT", `/Users/${id}`, { body: { ...created.json(), title: "one" }, headers: { "if-match": etag } });
    assert.equal(fresh.status, 200, fresh.text);
    assert.notEqual(fresh.headers.etag, etag);
    const stale = await call("PUT", `/Users/${id}`, { body: { ...created.json(), title: "two" }, headers: { "if-match": etag } });
    assert.equal(stale.status, 412);
  });

  test("Location, Content-Location and meta.location name the edge, and Content-Type is preserved", async () => {
    const created = await call("POST", "/Users", { body: newUser(`loc.${randomUUID()}@example.com`) });
    const id = created.json().id;
    assert.equal(created.headers.location, `${edge.base}/Users/${id}`);
    assert.equal(created.json().meta.location, `${edge.base}/Users/${id}`);
    assert.equal(created.headers["content-type"], "application/scim+json");
    const list = (await call("GET", `/Users?filter=${encodeURIComponent(`id eq "${id}"`)}`)).json();
    assert.ok(list.Resources.every((r) => r.meta.location.startsWith(edge.base)));
  });

  test("a chunked request body is forwarded whole", async () => {
    const body = JSON.stringify(newUser(`chunked.${randomUUID()}@example.com`));
    const res = await raw(`${edge.base}/Users`, { method: "POST", headers: { authorization: `Bearer ${key}`, ...SCIM_JSON, "transfer-encoding": "chunked" }, body });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json().userName, JSON.parse(body).userName);
  });

  test("a /Bulk round trip creates every resource", async () => {
    const a = `bulk.a.${randomUUID()}@example.com`;
    const b = `bulk.b.${randomUUID()}@example.com`;
    const res = await call("POST", "/Bulk", {
      body: {
        schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        Operations: [
          { method: "POST", path: "/Users", bulkId: "a", data: newUser(a) },
          { method: "POST", path: "/Users", bulkId: "b", data: newUser(b) },
        ],
      },
    });
    assert.equal(res.status, 200, res.text);
    const statuses = res.json().Operations.map((o) => String(o.status));
    assert.deepEqual(statuses, ["201", "201"]);
    for (const userName of [a, b]) {
      const found = await call("GET", `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
      assert.equal(found.json().totalResults, 1);
    }
  });
});
