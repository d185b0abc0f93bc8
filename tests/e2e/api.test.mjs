// The management API end to end: both Workers in workerd (the edge forwards
// /_provgate/api/v1 to provgate-control), every route's happy path and its
// refusals with the exact problem type and field, tenant isolation,
// revocation at once, and what the API leaves in KV and in its guards.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT, startEdge, startRecordingOrigin, apiClient, raw, randomSecret } from "./harness.mjs";

const pepper = randomSecret();
const rootToken = randomSecret() + randomSecret();
const problem = (res) => ({ status: res.status, type: res.json().type?.replace("urn:provgate:problem:", ""), fields: (res.json().errors ?? []).map((e) => e.field) });
const scim = (edge, key, p = "/Users") => raw(`${edge.base}${p}`, { headers: { authorization: `Bearer ${key}` } });

describe("management API", { timeout: 300_000 }, () => {
  let origin, edge, api, dir;
  const mint = async (body, token = rootToken) => {
    const res = await apiClient(edge, token)("POST", "/keys", { body });
    assert.equal(res.status, 201, res.text);
    return res.json();
  };
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "provgate-api-"));
    origin = await startRecordingOrigin();
    edge = await startEdge({ originUrl: origin.url, pepper, doPersist: dir, assets: true, vars: { ROOT_TOKEN: rootToken } });
    api = apiClient(edge, rootToken);
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("mint: 201 with the key once, Location, ETag and the record; the key works; one audit line", async () => {
    const res = await api("POST", "/keys", {
      body: { label: "Okta prod", tenant: "acme", scopes: ["users:read", "groups:read"], expires_in: "30d", allow_ips: ["127.0.0.1"], rate_per_minute: 120, burst: 10, metadata: { customer: "c-42" } },
    });
    assert.equal(res.status, 201, res.text);
    const m = res.json();
    assert.match(m.key, /^pvk_[0-9A-Za-z]{49}$/);
    assert.match(m.key_id, /^key_[0-9A-Za-z]{16}$/);
    assert.equal(res.headers.location, `/_provgate/api/v1/keys/${m.key_id}`);
    assert.equal(res.headers.etag, m.etag);
    assert.equal(res.headers["content-type"], "application/json");
    assert.ok(res.headers["x-request-id"]);
    assert.deepEqual([m.status, m.replayed, m.record.tenant, m.record.burst, m.record.metadata], ["active", false, "acme", 10, { customer: "c-42" }]);
    assert.equal(Date.parse(m.record.expires_at) - Date.parse(m.record.created_at), 30 * 86_400_000);
    assert.ok(Math.abs(Date.parse(m.usable_everywhere_by) - (Date.parse(m.record.created_at) + 60_000)) <= 1000);
    assert.equal((await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${m.key}`, "cf-connecting-ip": "127.0.0.1" } })).status, 200);
    const line = await edge.auditFor(res.headers["x-request-id"]);
    assert.deepEqual([line.action, line.actor, line.key_id, line.tenant, line.reason, line.status, line.resource], ["key.mint", "root", m.key_id, "acme", "api_ok", 201, "api"]);
    assert.equal(edge.auditLines().filter((l) => l.request_id === res.headers["x-request-id"]).length, 1, "exactly one audit line");
  });

  test("show: the record as stored, computed status, ETag; list, filter and page by cursor", async () => {
    const a = await mint({ label: "list-a", tenant: "paging", scopes: ["*"], expires_in: "2d" });
    const b = await mint({ label: "list-b", tenant: "paging", scopes: ["*"], expires_in: "90d" });
    const c = await mint({ label: "other", tenant: "paging", scopes: ["*"] });
    const shown = await api("GET", `/keys/${a.key_id}`);
    assert.equal(shown.status, 200);
    assert.deepEqual([shown.json().status, shown.json().record.label, shown.headers.etag, shown.json().etag], ["active", "list-a", a.etag, a.etag]);
    assert.equal(shown.json().last_used_at, null);
    const ids = async (query) => (await api("GET", `/keys?${query}`)).json().items.map((i) => i.key_id).sort();
    assert.deepEqual(await ids("tenant=paging"), [a.key_id, b.key_id, c.key_id].sort());
    assert.deepEqual(await ids("tenant=paging&expiring_within=3d"), [a.key_id]);
    assert.deepEqual(await ids("tenant=paging&label_prefix=list-"), [a.key_id, b.key_id].sort());
    assert.deepEqual(await ids("tenant=paging&status=revoked"), []);
    const seen = [];
    let cursor = null;
    let pages = 0;
    do {
      const page = (await api("GET", `/keys?tenant=paging&limit=1${cursor ? `&cursor=${cursor}` : ""}`)).json();
      seen.push(...page.items.map((i) => i.key_id));
      cursor = page.cursor;
      pages += 1;
    } while (cursor && pages < 10);
    assert.deepEqual(seen.sort(), [a.key_id, b.key_id, c.key_id].sort(), "paging by cursor visits every key once");
    const all = await api("GET", "/keys?limit=1000");
    assert.ok(all.json().items.some((i) => i.key_id === c.key_id));
  });

  test("PATCH: changes, clears, merges metadata; fields it does not know survive; If-Match 412", async () => {
    const m = await mint({ label: "patch me", tenant: "acme", scopes: ["users:read"], burst: 3, metadata: { a: "1", b: "2" } });
    // A field this version does not know, written by a newer edge straight into KV.
    const index = JSON.parse(await edge.kv.get(`id:${m.key_id}`));
    const stored = JSON.parse(await edge.kv.get(index.record));
    await edge.kv.put(index.record, JSON.stringify({ ...stored, added_by_a_newer_edge: { keep: true } }));
    const etag = (await api("GET", `/keys/${m.key_id}`)).headers.etag;
    const res = await api("PATCH", `/keys/${m.key_id}`, { body: { label: "patched", scopes: ["users:read", "users:write"], burst: null, metadata: { a: null, c: "3" } }, headers: { "if-match": etag } });
    assert.equal(res.status, 200, res.text);
    const r = res.json().record;
    assert.deepEqual([r.label, r.scopes, r.burst, r.metadata, r.added_by_a_newer_edge], ["patched", ["users:read", "users:write"], undefined, { b: "2", c: "3" }, { keep: true }]);
    assert.notEqual(res.headers.etag, etag);
    assert.equal(JSON.parse(await edge.kv.get(index.record)).added_by_a_newer_edge.keep, true, "and in KV");
    assert.equal((await scim(edge, m.key, "/Users")).status, 200, "the same key, with its new scopes");
    const stale = await api("PATCH", `/keys/${m.key_id}`, { body: { label: "late" }, headers: { "if-match": etag } });
    assert.deepEqual(problem(stale), { status: 412, type: "precondition_failed", fields: [] });
    const listed = (await api("GET", "/keys?tenant=acme&label_prefix=patched")).json().items;
    assert.deepEqual(listed.map((i) => i.key_id), [m.key_id], "the summary follows the record");
  });

  test("every bad input is refused with its problem type and field, and writes nothing", async () => {
    const m = await mint({ label: "target", tenant: "acme", scopes: ["*"] });
    const before = (await edge.mf.getKVNamespace("KEYS").then((kv) => kv.list())).keys.length;
    const cases = [
      ["POST", "/keys", { body: { label: "x", scope: ["*"] } }, 400, "unknown_field", ["scope"]],
      ["POST", "/keys", { body: { label: "x" } }, 400, "invalid_field", ["scopes"]],
      ["POST", "/keys", { body: { label: "", scopes: ["users:admin"], burst: 0 } }, 400, "invalid_field", ["label", "scopes", "burst"]],
      ["POST", "/keys", { body: { label: "x", scopes: ["*"], expires_at: "2030-01-01T00:00:00Z", expires_in: "1d" } }, 400, "invalid_field", ["expires_in"]],
      ["POST", "/keys", { body: { label: "x", scopes: ["*"], allow_ips: ["not-a-network"] } }, 400, "invalid_field", ["allow_ips"]],
      ["POST", "/keys", { body: { label: "x", scopes: ["*"], expires_at: "tomorrow" } }, 400, "invalid_field", ["expires_at"]],
      ["POST", "/keys", { body: { label: "x", scopes: ["*"], metadata: { "bad name": "v" } } }, 400, "invalid_field", ["metadata"]],
      ["POST", "/keys", { body: { label: "x", scopes: ["*"], tenant: "a/b" } }, 400, "invalid_field", ["tenant"]],
      ["POST", "/keys", { rawBody: "{not json", headers: { "content-type": "application/json" } }, 400, "invalid_json", []],
      ["POST", "/keys", { rawBody: "label=x", headers: { "content-type": "application/x-www-form-urlencoded" } }, 415, "unsupported_media_type", []],
      ["POST", "/keys", { rawBody: JSON.stringify({ label: "x".repeat(70_000) }), headers: { "content-type": "application/json" } }, 413, "body_too_large", []],
      ["POST", "/keys", { body: { label: "x", scopes: ["*"] }, headers: { "idempotency-key": "" } }, 400, "invalid_field", ["Idempotency-Key"]],
      ["PATCH", `/keys/${m.key_id}`, { body: { tenant: "globex" } }, 400, "tenant_immutable", ["tenant"]],
      ["PATCH", `/keys/${m.key_id}`, { body: { key: "pvk_x" } }, 400, "invalid_field", ["key"]],
      ["PATCH", `/keys/${m.key_id}`, { body: { status: "active" } }, 400, "invalid_field", ["status"]],
      ["PATCH", `/keys/${m.key_id}`, { body: { lable: "x" } }, 400, "unknown_field", ["lable"]],
      ["PATCH", `/keys/${m.key_id}`, { body: { scopes: [] } }, 400, "invalid_field", ["scopes"]],
      ["POST", `/keys/${m.key_id}/rotate`, { body: { grace: "soon" } }, 400, "invalid_field", ["grace"]],
      ["GET", "/keys?limit=0", {}, 400, "invalid_field", ["limit"]],
      ["GET", "/keys?status=paused", {}, 400, "invalid_field", ["status"]],
      ["GET", "/keys?tenat=acme", {}, 400, "invalid_field", ["tenat"]],
      ["GET", "/keys?cursor=bm90LWEtY3Vyc29y", {}, 400, "invalid_field", ["cursor"]],
      ["GET", "/usage/stale", {}, 400, "invalid_field", ["unused_for"]],
      ["GET", "/usage/stale?unused_for=0d", {}, 400, "invalid_field", ["unused_for"]],
      ["POST", "/tokens", { body: { label: "x", scopes: ["keys:admin"] } }, 400, "invalid_field", ["scopes"]],
      ["GET", "/keys/key_doesnotexist", {}, 404, "not_found", []],
      ["GET", "/nothing-here", {}, 404, "not_found", []],
      ["GET", "/tokens/tok_doesnotexist", {}, 404, "not_found", []],
    ];
    for (const [method, p, options, status, type, fields] of cases) {
      const res = await api(method, p, options);
      assert.deepEqual(problem(res), { status, type, fields }, `${method} ${p} ${JSON.stringify(options).slice(0, 80)}: ${res.text}`);
      assert.equal(res.headers["content-type"], "application/problem+json");
      assert.equal(res.json().request_id, res.headers["x-request-id"]);
      assert.equal((await edge.auditFor(res.headers["x-request-id"])).reason, `api_${type}`);
    }
    // Something shaped like a secret in the URL is refused by the edge's screen before any
    // route, the API's included: 400 key_in_path, the edge's own error, nothing looked up.
    const keyInPath = await api("GET", "/keys/pvk_notanid");
    assert.deepEqual([keyInPath.status, keyInPath.headers["content-type"]], [400, "application/scim+json"]);
    assert.equal((await edge.auditFor(keyInPath.headers["x-request-id"])).reason, "key_in_path");
    // Plain HTTP from a non-loopback client is refused before the API too (REQUIRE_HTTPS).
    const plain = await api("GET", "/keys", { headers: { "cf-connecting-ip": "198.51.100.9" } });
    assert.deepEqual([plain.status, (await edge.auditFor(plain.headers["x-request-id"])).reason], [403, "https_required"]);
    const wrongMethod = await api("PUT", `/keys/${m.key_id}`, { body: {} });
    assert.deepEqual([wrongMethod.status, wrongMethod.headers.allow, problem(wrongMethod).type], [405, "GET, PATCH, DELETE", "method_not_allowed"]);
    const after = (await edge.mf.getKVNamespace("KEYS").then((kv) => kv.list())).keys.length;
    assert.equal(after, before, "nothing was written");
  });

  test("tenant-restricted tokens: other tenants' keys are absent, listings forced, mints for the tenant only", async () => {
    const theirs = await mint({ label: "globex", tenant: "globex", scopes: ["*"] });
    const untenanted = await mint({ label: "no tenant", scopes: ["*"] });
    const tokenRes = await api("POST", "/tokens", { body: { label: "acme UI", tenant: "acme", scopes: ["keys:read", "keys:write", "keys:revoke", "usage:read"] } });
    assert.equal(tokenRes.status, 201, tokenRes.text);
    const acme = apiClient(edge, tokenRes.json().token);
    for (const id of [theirs.key_id, untenanted.key_id]) {
      for (const [method, p, options] of [["GET", `/keys/${id}`], ["PATCH", `/keys/${id}`, { body: { label: "x" } }], ["POST", `/keys/${id}/revoke`], ["POST", `/keys/${id}/rotate`], ["DELETE", `/keys/${id}`], ["GET", `/keys/${id}/usage`]]) {
        const res = await acme(method, p, options);
        assert.deepEqual(problem(res), { status: 404, type: "not_found", fields: [] }, `${method} ${p}`);
      }
    }
    assert.equal((await api("GET", `/keys/${theirs.key_id}`)).json().status, "active", "untouched");
    const own = await acme("POST", "/keys", { body: { label: "acme SCIM", scopes: ["users:read"] } });
    assert.equal(own.status, 201);
    assert.equal(own.json().record.tenant, "acme", "the token's tenant by default");
    assert.deepEqual(problem(await acme("POST", "/keys", { body: { label: "x", tenant: "globex", scopes: ["*"] } })), { status: 403, type: "forbidden", fields: ["tenant"] });
    const listed = (await acme("GET", "/keys")).json().items;
    assert.ok(listed.length > 0 && listed.every((i) => i.tenant === "acme"), "forced to acme");
    assert.equal((await acme("GET", "/keys?tenant=globex")).status, 403);
    assert.deepEqual(problem(await acme("POST", "/tokens", { body: { label: "x", scopes: ["keys:read"] } })), { status: 403, type: "forbidden", fields: [] });
    const line = await edge.auditFor(own.headers["x-request-id"]);
    assert.deepEqual([line.actor, line.tenant], [tokenRes.json().token_id, "acme"]);
  });

  test("revocation is instant: the key and a management token are refused at the next call", async () => {
    const m = await mint({ label: "to revoke", scopes: ["*"] });
    assert.equal((await scim(edge, m.key)).status, 200);
    const res = await api("POST", `/keys/${m.key_id}/revoke`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual([res.json().status, res.json().record.status, res.json().revoked_at_edge], ["revoked", "revoked", true]);
    const denied = await scim(edge, m.key);
    assert.equal(denied.status, 401);
    assert.equal((await edge.auditFor(denied.headers["x-request-id"])).reason, "key_revoked");
    assert.equal((await api("POST", `/keys/${m.key_id}/revoke`)).status, 200, "revoking again answers the same");

    const t = (await api("POST", "/tokens", { body: { label: "ci", scopes: ["keys:read"] } })).json();
    const ci = apiClient(edge, t.token);
    assert.equal((await ci("GET", "/keys?limit=1")).status, 200);
    const shown = (await api("GET", `/tokens/${t.token_id}`)).json();
    assert.deepEqual([shown.status, shown.record.scopes, shown.record.created_by], ["active", ["keys:read"], "root"]);
    assert.equal((await api("GET", "/tokens")).json().items.find((i) => i.token_id === t.token_id).status, "active");
    assert.equal((await api("POST", `/tokens/${t.token_id}/revoke`)).json().status, "revoked");
    const refused = await ci("GET", "/keys?limit=1");
    assert.deepEqual([refused.status, refused.headers["www-authenticate"]], [401, 'Bearer realm="provgate"']);
    assert.equal((await edge.auditFor(refused.headers["x-request-id"])).reason, "api_unauthorized");
  });

  test("a management token is never a provisioning key, nor a key a management token", async () => {
    const m = await mint({ label: "cross", scopes: ["*"] });
    const t = (await api("POST", "/tokens", { body: { label: "cross", scopes: ["keys:read"] } })).json();
    const asKey = await scim(edge, t.token);
    assert.equal(asKey.status, 401);
    assert.equal((await edge.auditFor(asKey.headers["x-request-id"])).reason, "key_malformed");
    const asToken = await apiClient(edge, m.key)("GET", "/keys?limit=1");
    assert.equal(asToken.status, 401);
    assert.equal((await edge.auditFor(asToken.headers["x-request-id"])).reason, "api_unauthorized");
    assert.equal((await apiClient(edge, null)("GET", "/keys")).status, 401, "no token");
  });

  test("delete: an active key is refused; a revoked one is purged from KV", async () => {
    const m = await mint({ label: "to delete", tenant: "acme", scopes: ["*"] });
    assert.deepEqual(problem(await api("DELETE", `/keys/${m.key_id}`)), { status: 409, type: "key_active", fields: [] });
    assert.equal((await scim(edge, m.key)).status, 200, "still works");
    await api("POST", `/keys/${m.key_id}/revoke`);
    const index = JSON.parse(await edge.kv.get(`id:${m.key_id}`));
    const gone = await api("DELETE", `/keys/${m.key_id}`);
    assert.deepEqual([gone.status, gone.text], [204, ""]);
    assert.equal(await edge.kv.get(`id:${m.key_id}`), null);
    assert.equal(await edge.kv.get(`tenant:acme:${m.key_id}`), null);
    assert.equal(await edge.kv.get(index.record), null);
    assert.equal((await api("GET", `/keys/${m.key_id}`)).status, 404);
    assert.equal((await api("DELETE", `/keys/${m.key_id}`)).status, 404);
  });

  test("rotate: the successor has the same rights; the old key works for the grace period only", async () => {
    const old = await mint({ label: "Entra", tenant: "acme", scopes: ["users:read"], expires_in: "90d", metadata: { team: "idp" } });
    const res = await api("POST", `/keys/${old.key_id}/rotate`, { body: { grace: "3s" } });
    assert.equal(res.status, 201, res.text);
    const r = res.json();
    assert.deepEqual([r.rotated_from, r.record.rotated_from, r.record.tenant, r.record.scopes, r.record.metadata], [old.key_id, old.key_id, "acme", ["users:read"], { team: "idp" }]);
    assert.equal(Date.parse(r.record.expires_at) - Date.parse(r.record.created_at), 90 * 86_400_000);
    assert.equal(res.headers.location, `/_provgate/api/v1/keys/${r.key_id}`);
    assert.equal((await scim(edge, old.key)).status, 200, "the old key during the grace period");
    assert.equal((await scim(edge, r.key)).status, 200);
    await new Promise((done) => setTimeout(done, Math.max(0, Date.parse(r.previous_expires_at) - Date.now()) + 1500));
    const expired = await scim(edge, old.key);
    assert.equal(expired.status, 401);
    assert.equal((await edge.auditFor(expired.headers["x-request-id"])).reason, "key_expired");
    assert.equal((await scim(edge, r.key)).status, 200);
    assert.deepEqual(problem(await api("POST", `/keys/${old.key_id}/rotate`)), { status: 409, type: "key_not_active", fields: [] });
  });

  test("usage: a never-used key is answered without creating its guard; once used, the guard's report", async () => {
    const m = await mint({ label: "usage", scopes: ["*"] });
    const ns = await edge.mf.getDurableObjectNamespace("KEY_GUARD", "control");
    const guardFile = `${ns.idFromName(m.key_id).toString()}.sqlite`;
    const guardExists = () => readdirSync(path.join(dir, "control-KeyGuard")).includes(guardFile);
    const never = await api("GET", `/keys/${m.key_id}/usage`);
    assert.deepEqual([never.status, never.json().never_used, never.json().usage], [200, true, null]);
    assert.equal(guardExists(), false, "reading the usage created no guard");
    // Nor does the connection doctor's check of it: it is metered per key elsewhere.
    const checked = await raw(`${edge.url}/_provgate/check`, { method: "POST", headers: { authorization: `Bearer ${m.key}` } });
    assert.deepEqual([checked.status, checked.json().valid, checked.json().usage], [200, true, { never_used: true }]);
    assert.equal(guardExists(), false, "checking the key created no guard");
    assert.equal((await scim(edge, m.key)).status, 200);
    assert.equal(guardExists(), true, "a request did (so the check above can fail)");
    let used;
    for (let i = 0; i < 50; i++) {
      used = (await api("GET", `/keys/${m.key_id}/usage`)).json();
      if (!used.never_used) break;
      await new Promise((done) => setTimeout(done, 100));
    }
    assert.equal(used.never_used, false);
    assert.equal(used.usage.total.allowed, 1);
    assert.equal(used.revoked_at_edge, false);
    // The guard wrote the first use into the key's summary.
    let summary;
    for (let i = 0; i < 50 && !summary?.u; i++) {
      summary = (await edge.kv.getWithMetadata(`id:${m.key_id}`)).metadata;
      await new Promise((done) => setTimeout(done, 100));
    }
    assert.ok(summary.u > Date.now() - 60_000, "last use in the summary");
  });

  test("the stale report comes from summaries and names a key whose summary cannot be read", async () => {
    const fresh = await mint({ label: "fresh", tenant: "stale", scopes: ["*"] });
    const old = await mint({ label: "old", tenant: "stale", scopes: ["*"] });
    // Make `old` look minted 40 days ago, and break a third key's summary.
    const { value, metadata } = await edge.kv.getWithMetadata(`tenant:stale:${old.key_id}`);
    await edge.kv.put(`tenant:stale:${old.key_id}`, value, { metadata: { ...metadata, c: Date.now() - 40 * 86_400_000 } });
    await edge.kv.put("tenant:stale:key_unreadable1", "", { metadata: { v: 7 } });
    const res = await api("GET", "/usage/stale?unused_for=30d&tenant=stale");
    assert.equal(res.status, 200, res.text);
    const report = res.json();
    assert.deepEqual(report.items.map((i) => i.key_id), [old.key_id]);
    assert.ok(!report.items.some((i) => i.key_id === fresh.key_id));
    assert.deepEqual(report.errors.map((e) => [e.key_id, e.problem]), [["key_unreadable1", "summary_unreadable"]]);
    assert.ok(report.unused_before);
  });

  test("the OpenAPI document is served, byte for byte the repository's", async () => {
    const res = await raw(`${edge.url}/_provgate/api/v1/openapi.yaml`);
    assert.equal(res.status, 200);
    assert.equal(res.text, readFileSync(path.join(ROOT, "docs/openapi.yaml"), "utf8"));
  });
});

describe("without ROOT_TOKEN", () => {
  test("the API does not exist: 404 (the edge's usual not_found), and the old admin routes are gone", async () => {
    const origin = await startRecordingOrigin();
    const edge = await startEdge({ originUrl: origin.url, pepper });
    try {
      for (const [method, p] of [["GET", "/_provgate/api/v1/keys"], ["POST", "/_provgate/api/v1/keys"], ["GET", "/_provgate/api/v1"], ["POST", "/_provgate/admin/revoke"], ["POST", "/_provgate/admin/usage"]]) {
        const res = await raw(`${edge.url}${p}`, { method, headers: { authorization: `Bearer ${rootToken}`, "content-type": "application/json" }, body: method === "POST" ? "{}" : undefined });
        assert.equal(res.status, 404, `${method} ${p}`);
        assert.equal(res.json().schemas[0], "urn:ietf:params:scim:api:messages:2.0:Error");
        assert.equal((await edge.auditFor(res.headers["x-request-id"])).reason, "not_found");
      }
    } finally {
      await edge.stop();
      await origin.stop();
    }
  });

  test("a PEPPER that does not match PEPPER_ID refuses everything, in both Workers", async () => {
    const origin = await startRecordingOrigin();
    const edge = await startEdge({ originUrl: origin.url, pepper, vars: { ROOT_TOKEN: rootToken, PEPPER_ID: "0000000000000000" } });
    try {
      for (const p of ["/scim/v2/Users", "/_provgate/api/v1/keys"]) {
        const res = await raw(`${edge.url}${p}`, { headers: { authorization: `Bearer ${rootToken}` } });
        assert.equal(res.status, 500, p);
        assert.equal((await edge.auditFor(res.headers["x-request-id"])).reason, "misconfigured");
      }
    } finally {
      await edge.stop();
      await origin.stop();
    }
  });
});
