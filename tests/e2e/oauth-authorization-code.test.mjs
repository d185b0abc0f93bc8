// OAuth 2.0 authorization code with refresh tokens end to end (Okta's
// flow, docs/oauth.md): Authlib as the IdP through the authorize page's
// form post, PKCE S256 and state; refresh rotation and reuse detection
// (the whole family revoked, its access tokens refused by the key's
// guard); code replay; redirect URIs never trusted before they are the
// key's; the page itself (served from www/ with its own CSP).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startEdge, startRecordingOrigin, mintKey, raw, randomSecret } from "./harness.mjs";
import { FORM, basic, idpClient, tokenRequest, scim, pkce, approve } from "./oauth.mjs";

const REDIRECT = "https://acme.okta.example/admin/app/provgate/oauth/callback";
const okta = (record, extra = {}) => ({ ...record, auth_modes: ["authorization_code"], redirect_uris: [REDIRECT], ...extra });

describe("authorization code and refresh", { timeout: 240_000 }, () => {
  const pepper = randomSecret();
  let origin, edge, key;

  before(async () => {
    origin = await startRecordingOrigin();
    edge = await startEdge({ originUrl: origin.url, pepper, assets: true, vars: { TOKEN_SIGNING_SECRET: randomSecret() } });
    key = await mintKey(edge, pepper, { label: "Okta", scopes: "users:read,users:write,groups:read", edit: (r) => okta(r) });
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
  });

  /** A code for `params` (PKCE S256 unless `challenge: null`), redeemed into a token response. */
  async function authorize({ challenge, scope, state = "st-" + randomSecret().slice(0, 8) } = {}) {
    const p = pkce();
    const params = { response_type: "code", client_id: key.keyId, redirect_uri: REDIRECT, state };
    if (challenge !== null) Object.assign(params, { code_challenge: challenge ?? p.challenge, code_challenge_method: "S256" });
    if (scope) params.scope = scope;
    const approval = await approve(edge, key.key, params);
    assert.equal(approval.status, 303, approval.text);
    return { ...p, approval, code: approval.location.searchParams.get("code"), state };
  }
  const redeem = (code, { verifier, redirectUri = REDIRECT, auth = basic(key.keyId, key.key) } = {}) =>
    tokenRequest(edge, {
      body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri, ...(verifier ? { code_verifier: verifier } : {}) }).toString(),
      headers: { authorization: auth },
    });
  const refresh = (token) => tokenRequest(edge, { body: `grant_type=refresh_token&refresh_token=${token}`, headers: { authorization: basic(key.keyId, key.key) } });
  const reasonOf = async (res) => (await edge.auditFor(res.headers["x-request-id"])).reason;

  test("Authlib: authorize with PKCE and state, exchange the code, provision, refresh, provision again", async () => {
    const got = await idpClient("authlib-code", edge.url, key.keyId, key.key, REDIRECT);
    assert.equal(got.approval_status, 303);
    const back = new URL(got.location);
    assert.equal(`${back.origin}${back.pathname}`, REDIRECT);
    assert.equal(back.searchParams.get("state"), got.state);
    assert.equal(back.searchParams.get("iss"), edge.url, "RFC 9207: the redirect names the issuer its metadata names");
    assert.match(back.searchParams.get("code"), /^pvc_[A-Za-z0-9_-]{59,}\.[A-Za-z0-9_-]{43}$/);
    assert.equal(got.scim_status, 200);
    assert.match(got.token.refresh_token, /^pvr_[0-9A-Za-z]{49}$/);
    assert.equal(got.token.scope, "users:read groups:read");
    assert.equal(got.refreshed_scim_status, 200);
    assert.notEqual(got.refreshed.refresh_token, got.token.refresh_token, "a refresh rotates the refresh token");
    const issued = edge.auditLines().filter((l) => l.reason === "token_issued" && l.key_id === key.keyId);
    assert.deepEqual(issued.slice(-2).map((l) => l.credential), ["authorization_code", "refresh_token"]);
    assert.match(issued.at(-1).family, /^[0-9a-f]{16}$/);
    assert.equal(issued.at(-1).family, issued.at(-2).family, "a refresh stays in its family");
    assert.equal(edge.auditLines().filter((l) => l.reason === "code_issued" && l.key_id === key.keyId).length >= 1, true);
  });

  test("reusing a superseded refresh token revokes the family: its live refresh token and access tokens die", async () => {
    const a = await authorize();
    const first = (await redeem(a.code, { verifier: a.verifier })).json();
    const second = (await refresh(first.refresh_token)).json();
    assert.ok(second.access_token && second.refresh_token);
    assert.equal((await scim(edge, second.access_token)).status, 200);
    const reuse = await refresh(first.refresh_token);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.json().error, "invalid_grant");
    assert.equal(await reasonOf(reuse), "oauth_refresh_reused");
    const dead = await scim(edge, second.access_token);
    assert.equal(dead.status, 401);
    assert.equal(await reasonOf(dead), "token_family_revoked");
    assert.equal(await reasonOf(await scim(edge, first.access_token)), "token_family_revoked");
    const live = await refresh(second.refresh_token);
    assert.equal(live.status, 400);
    assert.equal(await reasonOf(live), "oauth_refresh_reused");
    // Another authorization is another family, untouched.
    const b = await authorize();
    const other = (await redeem(b.code, { verifier: b.verifier })).json();
    assert.equal((await scim(edge, other.access_token)).status, 200);
  });

  test("a code is single use: a replay is refused and revokes what the first redemption issued", async () => {
    const a = await authorize();
    const first = await redeem(a.code, { verifier: a.verifier });
    assert.equal(first.status, 200, first.text);
    const replay = await redeem(a.code, { verifier: a.verifier });
    assert.equal(replay.status, 400);
    assert.equal(replay.json().error, "invalid_grant");
    assert.equal(await reasonOf(replay), "oauth_code_replayed");
    assert.equal(await reasonOf(await scim(edge, first.json().access_token)), "token_family_revoked");
    assert.equal(await reasonOf(await refresh(first.json().refresh_token)), "oauth_refresh_reused");
  });

  test("a code is bound to its redirect URI, its PKCE verifier and its client", async () => {
    const a = await authorize();
    const wrongUri = await redeem(a.code, { verifier: a.verifier, redirectUri: `${REDIRECT}/` });
    assert.equal(await reasonOf(wrongUri), "oauth_redirect_mismatch");
    const wrongVerifier = await redeem(a.code, { verifier: pkce().verifier });
    assert.equal(wrongVerifier.json().error, "invalid_grant");
    assert.equal(await reasonOf(wrongVerifier), "oauth_pkce_mismatch");
    assert.equal(await reasonOf(await redeem(a.code)), "oauth_pkce_missing");
    const other = await mintKey(edge, pepper, { scopes: "users:read", edit: (r) => okta(r) });
    const otherClient = await redeem(a.code, { verifier: a.verifier, auth: basic(other.keyId, other.key) });
    assert.equal(await reasonOf(otherClient), "oauth_code_other_client");
    // None of these consumed it.
    assert.equal((await redeem(a.code, { verifier: a.verifier })).status, 200);
    // Without a challenge, a verifier is a downgrade.
    const plain = await authorize({ challenge: null });
    assert.equal(await reasonOf(await redeem(plain.code, { verifier: pkce().verifier })), "oauth_pkce_unexpected");
  });

  test("before the client and its redirect URI are trusted, errors are a page, never a redirect", async () => {
    const base = { response_type: "code", client_id: key.keyId, redirect_uri: REDIRECT, state: "s1" };
    const other = await mintKey(edge, pepper, { scopes: "users:read", edit: (r) => okta(r) });
    const cases = [
      ["an unregistered redirect URI", key.key, { ...base, redirect_uri: "https://evil.example/cb" }, "oauth_authorize_redirect_not_registered"],
      ["a redirect URI differing by a slash", key.key, { ...base, redirect_uri: `${REDIRECT}/` }, "oauth_authorize_redirect_not_registered"],
      ["another key's client id", other.key, base, "oauth_authorize_other_client"],
      ["no client id", key.key, { ...base, client_id: "" }, "oauth_authorize_no_client_id"],
      ["a wrong key", key.key.slice(0, -6) + "AAAAAA", base, "oauth_authorize_key_rejected"],
    ];
    for (const [name, pasted, params, reason] of cases) {
      const res = await approve(edge, pasted, params);
      assert.equal(res.status, 400, name);
      assert.equal(res.location, undefined, `${name}: no redirect`);
      assert.match(res.headers["content-type"], /^text\/html/, name);
      assert.match(res.headers["content-security-policy"], /default-src 'none'/, name);
      assert.ok(!res.text.includes("evil.example"), `${name}: nothing of the request is echoed`);
      assert.equal(await reasonOf(res), reason, name);
    }
  });

  test("once trusted, errors go back to the client with its state", async () => {
    const strict = await mintKey(edge, pepper, { scopes: "users:read", edit: (r) => okta(r, { pkce_required: true }) });
    const base = { response_type: "code", client_id: strict.keyId, redirect_uri: REDIRECT, state: "xyz" };
    const cases = [
      [{ ...base }, "invalid_request", "oauth_authorize_invalid_request"],
      [{ ...base, ...{ code_challenge: pkce().challenge, code_challenge_method: "plain" } }, "invalid_request", "oauth_authorize_invalid_request"],
      [{ ...base, response_type: "token", code_challenge: pkce().challenge, code_challenge_method: "S256" }, "unsupported_response_type", "oauth_authorize_unsupported_response_type"],
      [{ ...base, scope: "groups:write", code_challenge: pkce().challenge, code_challenge_method: "S256" }, "invalid_scope", "oauth_authorize_invalid_scope"],
    ];
    for (const [params, error, reason] of cases) {
      const res = await approve(edge, strict.key, params);
      assert.equal(res.status, 303, error);
      assert.equal(`${res.location.origin}${res.location.pathname}`, REDIRECT);
      assert.equal(res.location.searchParams.get("error"), error);
      assert.equal(res.location.searchParams.get("state"), "xyz");
      assert.equal(res.location.searchParams.get("iss"), edge.url, `${error}: RFC 9207`);
      assert.equal(res.location.searchParams.get("code"), null);
      assert.equal(await reasonOf(res), reason);
    }
    const ccOnly = await mintKey(edge, pepper, { scopes: "users:read", edit: (r) => okta(r, { auth_modes: ["client_credentials"] }) });
    const res = await approve(edge, ccOnly.key, { ...base, client_id: ccOnly.keyId });
    assert.equal(res.location.searchParams.get("error"), "unauthorized_client");
  });

  test("the authorize page is served from www/ with a CSP that lets its form post here and redirect to https only", async () => {
    // The request's parameters are public (the key id, a registered URI): fetched as the browser would.
    const page = await fetch(`${edge.url}/oauth/authorize?response_type=code&client_id=${key.keyId}&redirect_uri=${encodeURIComponent(REDIRECT)}`);
    const res = { status: page.status, headers: Object.fromEntries(page.headers), text: await page.text() };
    assert.equal(res.status, 200);
    assert.match(res.headers["content-type"], /^text\/html/);
    assert.match(res.text, /<form id="authorize" method="post" action="\/oauth\/approve">/);
    const csp = res.headers["content-security-policy"];
    assert.equal(csp.split(",").length, 1, "one policy, not the site-wide one besides");
    assert.match(csp, /form-action 'self' https:/);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers["referrer-policy"], "no-referrer");
    const script = await raw(`${edge.url}/oauth/authorize.js`);
    assert.equal(script.status, 200);
    assert.ok(!/innerHTML|eval\(/.test(script.text), "the page writes text, never markup");
    assert.match(script.text, /form\.action = "\/oauth\/approve" \+ window\.location\.search/);
  });
});

describe("keys and their OAuth state", { timeout: 120_000 }, () => {
  test("a revoked key's refresh tokens are refused", async () => {
    const root = randomSecret() + randomSecret();
    const pepper = randomSecret();
    const origin = await startRecordingOrigin();
    const edge = await startEdge({ originUrl: origin.url, pepper, vars: { TOKEN_SIGNING_SECRET: randomSecret(), ROOT_TOKEN: root } });
    try {
      const key = await mintKey(edge, pepper, { scopes: "users:read", edit: (r) => okta(r) });
      const p = pkce();
      const approval = await approve(edge, key.key, { response_type: "code", client_id: key.keyId, redirect_uri: REDIRECT, code_challenge: p.challenge, code_challenge_method: "S256" });
      const code = approval.location.searchParams.get("code");
      const tokens = (await tokenRequest(edge, { body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: p.verifier, client_id: key.keyId, client_secret: key.key }).toString() })).json();
      const { apiClient } = await import("./harness.mjs");
      assert.equal((await apiClient(edge, root)("POST", `/keys/${key.keyId}/revoke`)).status, 200);
      const res = await tokenRequest(edge, { body: `grant_type=refresh_token&refresh_token=${tokens.refresh_token}&client_id=${key.keyId}&client_secret=${key.key}` });
      assert.equal(res.status, 401);
      assert.equal(res.json().error, "invalid_client");
      assert.equal((await scim(edge, tokens.access_token)).status, 401);
    } finally {
      await edge.stop();
      await origin.stop();
    }
  });
});
