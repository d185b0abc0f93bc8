// OAuth 2.0 client credentials end to end (docs/oauth.md): real client
// libraries as the IdP (Authlib with both client authentication methods;
// oauthlib with requests-oauthlib's backend application flow) fetch tokens
// at /oauth/token and call SCIM with them; each §5.2 error, failed client
// authentication throttled, tokens verified by their MAC only (tampered,
// expired to the second, sealed before a secret rotation), revocation and
// the rate limit shared with the key, and keys allowed through OAuth only.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startEdge, startRecordingOrigin, mintKey, raw, randomSecret, apiClient, runCli } from "./harness.mjs";
import { FORM, basic, withModes, idpClient, tokenRequest, scim } from "./oauth.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe("client credentials", { timeout: 240_000 }, () => {
  const pepper = randomSecret();
  const secret = randomSecret();
  const root = randomSecret() + randomSecret();
  let origin, edge, client;

  before(async () => {
    origin = await startRecordingOrigin();
    edge = await startEdge({ originUrl: origin.url, pepper, authFailureLimit: 4, vars: { TOKEN_SIGNING_SECRET: secret, ROOT_TOKEN: root } });
    client = await mintKey(edge, pepper, { label: "Entra", scopes: "users:read,groups:read", edit: withModes("bearer", "client_credentials") });
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
  });

  for (const method of ["client_secret_basic", "client_secret_post"]) {
    test(`Authlib (${method}) gets a token and provisions with it; the audit names the token by its id`, async () => {
      const got = await idpClient("authlib-cc", edge.url, client.keyId, client.key, method);
      assert.equal(got.scim_status, 200);
      assert.match(got.token.access_token, /^pva_[A-Za-z0-9_-]{59,}\.[A-Za-z0-9_-]{43}$/);
      assert.equal(got.token.token_type, "Bearer");
      assert.equal(got.token.expires_in, 3600);
      assert.equal(got.token.scope, "users:read groups:read");
      const issued = edge.auditLines().filter((l) => l.reason === "token_issued").at(-1);
      assert.equal(issued.credential, "key");
      assert.equal(issued.key_id, client.keyId);
      assert.match(issued.tid, /^[0-9a-f]{24}$/);
      const forwardedWith = () => edge.auditLines().filter((l) => l.reason === "forwarded" && l.tid === issued.tid);
      for (let i = 0; i < 50 && forwardedWith().length === 0; i++) await sleep(20);
      const used = forwardedWith();
      assert.equal(used.length, 1);
      assert.equal(used[0].credential, "access_token");
      assert.equal(used[0].key_id, client.keyId);
      // The origin gets the edge's credential, never the token.
      assert.ok(!JSON.stringify(origin.received.at(-1).headers).includes("pva_"));
    });
  }

  test("oauthlib with requests-oauthlib (backend application flow) gets a token and provisions with it", async () => {
    const got = await idpClient("oauthlib-cc", edge.url, client.keyId, client.key);
    assert.equal(got.scim_status, 200);
    assert.ok(got.token.access_token.startsWith("pva_"));
    assert.equal(got.token.token_type, "Bearer");
  });

  test("a scope narrows the token: what it lacks is refused at the SCIM route", async () => {
    const got = await idpClient("authlib-cc", edge.url, client.keyId, client.key, "client_secret_post", "users:read");
    assert.equal(got.token.scope, "users:read");
    assert.equal((await scim(edge, got.token.access_token, "/Users")).status, 200);
    const groups = await scim(edge, got.token.access_token, "/Groups");
    assert.equal(groups.status, 403);
    assert.equal((await edge.auditFor(groups.headers["x-request-id"])).reason, "insufficient_scope");
  });

  test("each RFC 6749 §5.2 error, with no-store, and invalid_client challenging Basic only when Basic was used", async () => {
    const bearerOnly = await mintKey(edge, pepper, { label: "bearer only" });
    const cases = [
      ["not a form", { body: "grant_type=client_credentials", headers: { "content-type": "application/json", authorization: basic(client.keyId, client.key) } }, 400, "invalid_request", "oauth_not_form"],
      ["repeated parameter", { body: "grant_type=client_credentials&scope=users%3Aread&scope=groups%3Aread", headers: { authorization: basic(client.keyId, client.key) } }, 400, "invalid_request", "oauth_repeated_parameter"],
      ["two authentication methods", { body: `grant_type=client_credentials&client_secret=${client.key}`, headers: { authorization: basic(client.keyId, client.key) } }, 400, "invalid_request", "oauth_two_client_authentications"],
      ["no grant_type", { body: `client_id=${client.keyId}&client_secret=${client.key}` }, 400, "invalid_request", "oauth_missing_parameter"],
      ["unsupported grant", { body: "grant_type=password&username=a&password=b" }, 400, "unsupported_grant_type", "oauth_unsupported_grant_type"],
      ["no client authentication", { body: "grant_type=client_credentials" }, 401, "invalid_client", "oauth_client_missing"],
      ["another client's id (post)", { body: `grant_type=client_credentials&client_id=${bearerOnly.keyId}&client_secret=${client.key}` }, 401, "invalid_client", "oauth_client_id_mismatch"],
      ["a mode the key lacks", { body: "grant_type=client_credentials", headers: { authorization: basic(bearerOnly.keyId, bearerOnly.key) } }, 400, "unauthorized_client", "oauth_grant_not_allowed"],
      ["a scope the key lacks", { body: "grant_type=client_credentials&scope=users%3Awrite", headers: { authorization: basic(client.keyId, client.key) } }, 400, "invalid_scope", "oauth_scope_not_held"],
      ["a scope outside the grammar", { body: "grant_type=client_credentials&scope=admin", headers: { authorization: basic(client.keyId, client.key) } }, 400, "invalid_scope", "oauth_scope_invalid"],
    ];
    for (const [name, request, status, error, reason] of cases) {
      const res = await tokenRequest(edge, request);
      assert.equal(res.status, status, `${name}: ${res.text}`);
      assert.deepEqual(Object.keys(res.json()).sort(), ["error", "error_description"], name);
      assert.equal(res.json().error, error, name);
      assert.equal(res.headers["cache-control"], "no-store", name);
      assert.equal(res.headers.pragma, "no-cache", name);
      assert.match(res.headers["content-type"], /^application\/json/, name);
      assert.equal(res.headers["www-authenticate"], undefined, `${name}: no Basic challenge without Basic`);
      const line = await edge.auditFor(res.headers["x-request-id"]);
      assert.equal(line.reason, reason, name);
      assert.equal(line.decision, "deny", name);
    }
    const unknown = await tokenRequest(edge, { body: "grant_type=client_credentials", headers: { authorization: basic(client.keyId, bearerOnly.key.slice(0, -6) + "AAAAAA") } });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.json().error, "invalid_client");
    assert.equal(unknown.headers["www-authenticate"], 'Basic realm="provgate", charset="UTF-8"');
    const success = await tokenRequest(edge, { body: "grant_type=client_credentials", headers: { authorization: basic(client.keyId, client.key) } });
    assert.equal(success.status, 200, success.text);
    assert.equal(success.headers["cache-control"], "no-store");
    assert.equal(success.headers.pragma, "no-cache");
  });

  test("a token is refused when tampered with or shaped wrong; forged ones count as failed attempts", async () => {
    const ok = await tokenRequest(edge, { body: "grant_type=client_credentials", headers: { authorization: basic(client.keyId, client.key) } });
    const token = ok.json().access_token;
    const flipped = token.slice(0, 10) + (token[10] === "A" ? "B" : "A") + token.slice(11);
    for (const [bad, reason] of [[flipped, "token_bad_mac"], [token.slice(0, -1), "token_malformed"], ["pva_" + "A".repeat(70), "token_malformed"]]) {
      const res = await scim(edge, bad);
      assert.equal(res.status, 401);
      assert.match(res.headers["www-authenticate"], /invalid_token/);
      assert.equal((await edge.auditFor(res.headers["x-request-id"])).reason, reason);
    }
    assert.equal((await scim(edge, token)).status, 200);
  });

  test("revoking the key kills its live tokens at once", async () => {
    const doomed = await mintKey(edge, pepper, { label: "doomed", scopes: "users:read", edit: withModes("client_credentials") });
    const res = await tokenRequest(edge, { body: `grant_type=client_credentials&client_id=${doomed.keyId}&client_secret=${doomed.key}` });
    const token = res.json().access_token;
    assert.equal((await scim(edge, token)).status, 200);
    const revoked = await apiClient(edge, root)("POST", `/keys/${doomed.keyId}/revoke`);
    assert.equal(revoked.status, 200, revoked.text);
    const after = await scim(edge, token);
    assert.equal(after.status, 401);
    const line = await edge.auditFor(after.headers["x-request-id"]);
    assert.equal(line.reason, "key_revoked");
    assert.equal(line.credential, "access_token");
    const again = await tokenRequest(edge, { body: `grant_type=client_credentials&client_id=${doomed.keyId}&client_secret=${doomed.key}` });
    assert.equal(again.status, 401);
    assert.equal(again.json().error, "invalid_client");
  });

  test("a key allowed through OAuth only is refused as a bearer key; its token works", async () => {
    const oauthOnly = await mintKey(edge, pepper, { label: "oauth only", scopes: "users:read", edit: withModes("client_credentials") });
    const res = await scim(edge, oauthOnly.key);
    assert.equal(res.status, 401);
    assert.match(res.json().detail, /only through OAuth 2\.0/);
    assert.equal((await edge.auditFor(res.headers["x-request-id"])).reason, "key_bearer_not_allowed");
    const token = (await tokenRequest(edge, { body: "grant_type=client_credentials", headers: { authorization: basic(oauthOnly.keyId, oauthOnly.key) } })).json().access_token;
    assert.equal((await scim(edge, token)).status, 200);
  });

  test("the rate limit is the key's, shared by the key and its tokens", async () => {
    const limited = await mintKey(edge, pepper, { label: "limited", scopes: "users:read", edit: (r) => ({ ...withModes("bearer", "client_credentials")(r), rate_per_minute: 1, burst: 3 }) });
    // The token request itself is metered: one of the three.
    const token = (await tokenRequest(edge, { body: "grant_type=client_credentials", headers: { authorization: basic(limited.keyId, limited.key) } })).json().access_token;
    assert.equal((await scim(edge, token)).status, 200);
    assert.equal((await scim(edge, limited.key)).status, 200);
    const over = await scim(edge, token);
    assert.equal(over.status, 429);
    assert.equal((await scim(edge, limited.key)).status, 429);
    const refused = await tokenRequest(edge, { body: "grant_type=client_credentials", headers: { authorization: basic(limited.keyId, limited.key) } });
    assert.equal(refused.status, 429);
  });

  test("failed client authentication counts against the address like a bad key", async () => {
    const wrong = basic(client.keyId, client.key.slice(0, -6) + "AAAAAA");
    const statuses = [];
    // A remote client, as Cloudflare's edge would see it (over https).
    const attempt = () => edge.mf.dispatchFetch("https://edge.example/oauth/token", { method: "POST", headers: { "content-type": FORM, authorization: wrong, "cf-connecting-ip": "203.0.113.77" }, body: "grant_type=client_credentials" });
    for (let i = 0; i < 6; i++) {
      const res = await attempt();
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    assert.deepEqual(statuses.slice(0, 4), [401, 401, 401, 401]);
    assert.deepEqual(statuses.slice(4), [429, 429]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(edge.auditLines().filter((l) => l.client_ip === "203.0.113.77").at(-1).reason, "auth_throttled");
  });
});

describe("token lifetime and signing secret rotation", { timeout: 240_000 }, () => {
  const pepper = randomSecret();
  const oldSecret = randomSecret();
  const newSecret = randomSecret();
  let origin;
  before(async () => (origin = await startRecordingOrigin()));
  after(async () => origin?.stop());

  test("a token expires with its key, to the second", async () => {
    const edge = await startEdge({ originUrl: origin.url, pepper, vars: { TOKEN_SIGNING_SECRET: oldSecret } });
    try {
      // The token never outlives its key: its expiry is the key's, 3 s from now.
      const expiresAt = Math.floor(Date.now() / 1000) + 3;
      const k = await mintKey(edge, pepper, { scopes: "users:read", edit: (r) => ({ ...withModes("client_credentials")(r), expires_at: new Date(expiresAt * 1000).toISOString() }) });
      const res = await tokenRequest(edge, { body: "grant_type=client_credentials", headers: { authorization: basic(k.keyId, k.key) } });
      assert.equal(res.status, 200, res.text);
      const { access_token: token, expires_in } = res.json();
      assert.ok(expires_in >= 1 && expires_in <= 3, `expires_in ${expires_in}`);
      assert.equal((await scim(edge, token)).status, 200);
      await sleep(Math.max(0, expiresAt * 1000 - Date.now() - 400));
      const before = await scim(edge, token);
      assert.equal(before.status, Date.now() < expiresAt * 1000 ? 200 : 401);
      await sleep(Math.max(0, expiresAt * 1000 - Date.now() + 50));
      const expired = await scim(edge, token);
      assert.equal(expired.status, 401);
      assert.equal((await edge.auditFor(expired.headers["x-request-id"])).reason, "token_expired");
    } finally {
      await edge.stop();
    }
  });

  test("a token sealed under the previous secret works during a rotation, and not after it", async () => {
    const first = await startEdge({ originUrl: origin.url, pepper, vars: { TOKEN_SIGNING_SECRET: oldSecret } });
    let token;
    try {
      const k = await mintKey(first, pepper, { scopes: "users:read", edit: withModes("client_credentials") });
      token = (await tokenRequest(first, { body: "grant_type=client_credentials", headers: { authorization: basic(k.keyId, k.key) } })).json().access_token;
      assert.equal((await scim(first, token)).status, 200);
    } finally {
      await first.stop();
    }
    const during = await startEdge({ originUrl: origin.url, pepper, vars: { TOKEN_SIGNING_SECRET: newSecret, TOKEN_SIGNING_SECRET_PREVIOUS: oldSecret } });
    try {
      // No record is read for a token: a fresh store still admits it.
      assert.equal((await scim(during, token)).status, 200);
    } finally {
      await during.stop();
    }
    const afterRotation = await startEdge({ originUrl: origin.url, pepper, vars: { TOKEN_SIGNING_SECRET: newSecret } });
    try {
      const res = await scim(afterRotation, token);
      assert.equal(res.status, 401);
      assert.equal((await afterRotation.auditFor(res.headers["x-request-id"])).reason, "token_bad_mac");
    } finally {
      await afterRotation.stop();
    }
  });

  test("without TOKEN_SIGNING_SECRET, OAuth is off: no token endpoint, no metadata, and tokens are refused", async () => {
    const edge = await startEdge({ originUrl: origin.url, pepper });
    try {
      const res = await raw(`${edge.url}/oauth/token`, { method: "POST", headers: { "content-type": FORM }, body: "grant_type=client_credentials" });
      assert.equal(res.status, 404);
      assert.equal((await raw(`${edge.url}/.well-known/oauth-authorization-server`)).status, 404);
      const scimRes = await scim(edge, "pva_" + "A".repeat(59) + "." + "A".repeat(43));
      assert.equal(scimRes.status, 401);
    } finally {
      await edge.stop();
    }
  });
});

describe("OAuth through the management API, the CLI and discovery", { timeout: 240_000 }, () => {
  const pepper = randomSecret();
  const root = randomSecret() + randomSecret();
  let origin, edge;
  const cli = (args) => runCli(args, { PROVGATE_EDGE_URL: edge.url, PROVGATE_TOKEN: root });
  before(async () => {
    origin = await startRecordingOrigin();
    // No record cache: a change of auth_modes is seen by the next request (as by every location within KV's minute).
    edge = await startEdge({ originUrl: origin.url, pepper, vars: { TOKEN_SIGNING_SECRET: randomSecret(), ROOT_TOKEN: root, RECORD_CACHE_TTL_SECONDS: "0" } });
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
  });

  test("key mint/update --auth-modes, --redirect-uri, --pkce-required set the record; key show shows them", async () => {
    const minted = await cli(["key", "mint", "--label", "Entra", "--scopes", "users:read", "--auth-modes", "client_credentials", "--redirect-uri", "https://acme.okta.example/cb", "--pkce-required"]);
    assert.equal(minted.status, 0, minted.out);
    const key = minted.stdout.match(/^key:\s+(pvk_\S+)$/m)[1];
    const keyId = minted.stdout.match(/^key id:\s+(key_\S+)$/m)[1];
    const shown = await cli(["key", "show", keyId]);
    assert.match(shown.stdout, /^auth_modes:\s+client_credentials$/m);
    assert.match(shown.stdout, /^redirect_uris:\s+https:\/\/acme\.okta\.example\/cb$/m);
    assert.match(shown.stdout, /^pkce_required:\s+yes$/m);
    assert.equal((await scim(edge, key)).status, 401, "OAuth only: the key is refused as a bearer key");
    const token = (await tokenRequest(edge, { body: "grant_type=client_credentials", headers: { authorization: basic(keyId, key) } })).json().access_token;
    assert.equal((await scim(edge, token)).status, 200);
    const updated = await cli(["key", "update", keyId, "--auth-modes", "bearer,client_credentials", "--no-redirect-uris", "--pkce-required", "false"]);
    assert.equal(updated.status, 0, updated.out);
    assert.match(updated.stdout, /^auth_modes:\s+bearer,client_credentials$/m);
    assert.match(updated.stdout, /^pkce_required:\s+no$/m);
    assert.equal((await scim(edge, key)).status, 200, "bearer again");
    const back = await cli(["key", "update", keyId, "--auth-modes", "default"]);
    assert.match(back.stdout, /^auth_modes:\s+bearer \(default\)$/m);
    const bad = await cli(["key", "mint", "--label", "x", "--scopes", "users:read", "--redirect-uri", "http://acme.okta.example/cb"]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /https:\/\//);
  });

  test("rotating a key ends its access tokens when the old key ends", async () => {
    const api = apiClient(edge, root);
    const minted = await api("POST", "/keys", { body: { label: "Entra", scopes: ["users:read"], auth_modes: ["client_credentials"] } });
    assert.equal(minted.status, 201, minted.text);
    const { key_id: keyId, key } = minted.json();
    const token = (await tokenRequest(edge, { body: "grant_type=client_credentials", headers: { authorization: basic(keyId, key) } })).json().access_token;
    assert.equal((await scim(edge, token)).status, 200);
    const graceful = await api("POST", `/keys/${keyId}/rotate`, { body: { grace: "1h" } });
    assert.equal(graceful.status, 201, graceful.text);
    assert.equal((await scim(edge, token)).status, 200, "within the grace the old key's tokens work");
    // A second rotation of the old key is refused only once it ended; end it now through a new rotation of the successor's predecessor.
    const successor = graceful.json();
    const token2 = (await tokenRequest(edge, { body: "grant_type=client_credentials", headers: { authorization: basic(successor.key_id, successor.key) } })).json().access_token;
    const ended = await api("POST", `/keys/${successor.key_id}/rotate`, { body: { grace: "0s" } });
    assert.equal(ended.status, 201, ended.text);
    const res = await scim(edge, token2);
    assert.equal(res.status, 401);
    assert.equal((await edge.auditFor(res.headers["x-request-id"])).reason, "token_key_ended");
    assert.equal((await scim(edge, token)).status, 200, "the first key's own grace still runs");
  });

  test("bringing a key's expires_at forward ends the tokens issued before; tokens issued after keep to it", async () => {
    const api = apiClient(edge, root);
    const { key_id: keyId, key } = (await api("POST", "/keys", { body: { label: "Entra", scopes: ["users:read"], auth_modes: ["client_credentials"] } })).json();
    const fetchToken = async () => (await tokenRequest(edge, { body: "grant_type=client_credentials", headers: { authorization: basic(keyId, key) } })).json();
    const before = (await fetchToken()).access_token;
    const soon = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2000);
    const patched = await api("PATCH", `/keys/${keyId}`, { body: { expires_at: soon.toISOString().replace(/\.\d+Z$/, "Z") } });
    assert.equal(patched.status, 200, patched.text);
    assert.equal((await scim(edge, before)).status, 200, "until the new end");
    const after = await fetchToken();
    assert.ok(after.expires_in <= 3, `a new token never outlives the key (${after.expires_in} s)`);
    await sleep(Math.max(0, soon.getTime() - Date.now() + 100));
    const ended = await scim(edge, before);
    assert.equal(ended.status, 401);
    assert.equal((await edge.auditFor(ended.headers["x-request-id"])).reason, "token_key_ended");
    assert.equal((await edge.auditFor((await scim(edge, after.access_token)).headers["x-request-id"])).reason, "token_expired");
  });

  test("moving a key's not_before later suspends its tokens until then; moving it back lifts that", async () => {
    const api = apiClient(edge, root);
    const { key_id: keyId, key } = (await api("POST", "/keys", { body: { label: "Entra", scopes: ["users:read"], auth_modes: ["client_credentials"] } })).json();
    const fetched = await tokenRequest(edge, { body: "grant_type=client_credentials", headers: { authorization: basic(keyId, key) } });
    const token = fetched.json().access_token;
    assert.equal((await scim(edge, token)).status, 200);
    const later = await api("PATCH", `/keys/${keyId}`, { body: { not_before: "2099-01-01T00:00:00Z" } });
    assert.equal(later.status, 200, later.text);
    const suspended = await scim(edge, token);
    assert.equal(suspended.status, 401);
    assert.equal((await edge.auditFor(suspended.headers["x-request-id"])).reason, "token_key_suspended");
    const refused = await tokenRequest(edge, { body: "grant_type=client_credentials", headers: { authorization: basic(keyId, key) } });
    assert.equal(refused.status, 401, "and no new token meanwhile");
    const back = await api("PATCH", `/keys/${keyId}`, { body: { not_before: null } });
    assert.equal(back.status, 200, back.text);
    assert.equal((await scim(edge, token)).status, 200, "lifted: the token is good again within its own lifetime");
  });

  test("the API refuses bad OAuth fields by name", async () => {
    const api = apiClient(edge, root);
    const res = await api("POST", "/keys", { body: { label: "x", scopes: ["*"], auth_modes: [], redirect_uris: ["https://a.example/#f"], pkce_required: "yes" } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json().errors.map((e) => e.field).sort(), ["auth_modes", "pkce_required", "redirect_uris"]);
  });

  test("RFC 8414 metadata names the endpoints, grants, methods, PKCE and scopes", async () => {
    const res = await raw(`${edge.url}/.well-known/oauth-authorization-server`);
    assert.equal(res.status, 200);
    assert.match(res.headers["content-type"], /^application\/json/);
    const doc = res.json();
    assert.equal(doc.issuer, edge.url);
    assert.equal(doc.authorization_response_iss_parameter_supported, true);
    assert.equal(doc.token_endpoint, `${edge.url}/oauth/token`);
    assert.equal(doc.authorization_endpoint, `${edge.url}/oauth/authorize`);
    assert.deepEqual(doc.grant_types_supported, ["authorization_code", "client_credentials", "refresh_token"]);
    assert.deepEqual(doc.token_endpoint_auth_methods_supported, ["client_secret_basic", "client_secret_post"]);
    assert.deepEqual(doc.code_challenge_methods_supported, ["S256"]);
    assert.deepEqual(doc.scopes_supported, ["*", "me", "bulk", "users:read", "users:write", "groups:read", "groups:write"]);
    assert.equal((await edge.auditFor(res.headers["x-request-id"])).reason, "oauth_metadata");
    assert.equal((await raw(`${edge.url}/.well-known/oauth-authorization-server`, { method: "POST", body: "" })).status, 405);
  });
});
