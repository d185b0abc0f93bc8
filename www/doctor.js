// provgate connection doctor. Runs in the page; talks only to this origin.
"use strict";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const KEY_SHAPE = /^pvk_[0-9A-Za-z]{49}$/;
const IDPS = {
  "okta-header": { name: "Okta (HTTP Header)", prefix: "Okta:", bearer: false, test: "/Users?startIndex=1&count=2" },
  "okta-bearer": { name: "Okta (OAuth Bearer Token)", prefix: "Okta:", bearer: true, test: "/Users?startIndex=1&count=2" },
  // Entra's Tenant URL carries ?aadOptscim062020 (its SCIM-compliant mode), which it sends on every call.
  entra: { name: "Microsoft Entra ID", prefix: "Entra ID:", bearer: true, test: null, flag: "aadOptscim062020" },
  onelogin: { name: "OneLogin", prefix: "OneLogin:", bearer: true, test: "/Users?startIndex=1&count=1" },
};

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(text) {
  let c = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function base62(value, width) {
  let out = "";
  for (let i = 0; i < width; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/**
 * The format checks, in the page. Returns `{ step, key, header }` (header:
 * the Authorization value the IdP will send), or a failed step alone.
 */
function checkFormat(raw, idp) {
  const text = raw.trim();
  if (!text) return fail("Key format", "No key was entered.", "Paste the key from the identity provider's secret field.");
  const bearer = /^bearer\s+/i.test(text);
  const bare = text.replace(/^bearer\s+/i, "").trim();
  if (/^bearer\s+/i.test(bare) || (bare.match(/pvk_/g) || []).length > 1) {
    return fail("Key format", "The key appears twice, or “Bearer” appears twice.", "Paste the key exactly once, with nothing around it.");
  }
  if (bearer && idp.bearer) {
    return fail("Key format", "The value starts with “Bearer”.", `${idp.name} adds “Bearer ” itself: paste only the key (pvk_…), or the header becomes “Bearer Bearer …”.`);
  }
  if (!KEY_SHAPE.test(bare)) {
    return fail("Key format", `This is not a provisioning key: it should be pvk_ followed by 49 letters and digits (this has ${bare.length} characters).`, "Copy the whole key again; it may be truncated or be another secret.");
  }
  if (base62(crc32(bare.slice(0, 47)), 6) !== bare.slice(47)) {
    return fail("Key format", "The key's checksum does not match: it has a typo or was cut short.", "Copy the whole key again from where it was first shown.");
  }
  if (bearer) {
    // Okta's HTTP Header mode sends the field as it is: "Bearer pvk_…" is a header provgate accepts.
    const note = `Well-formed, and the checksum matches. Note: ${idp.name} sends the field as it is, so provgate receives “Bearer pvk_…”, which it accepts (the key alone works too).`;
    return { step: pass("Key format", note), key: bare, header: `Bearer ${bare}` };
  }
  return { step: pass("Key format", "Well-formed, and the checksum matches."), key: bare, header: idp.bearer ? `Bearer ${bare}` : bare };
}

/** `path` with the IdP's flag first in its query, as the IdP sends it. */
function withFlag(path, idp) {
  if (!idp.flag) return path;
  return path.includes("?") ? path.replace("?", `?${idp.flag}&`) : `${path}?${idp.flag}`;
}

function pass(title, detail) {
  return { ok: true, title, detail };
}
function fail(title, detail, remedy) {
  return { ok: false, title, detail, remedy };
}

async function scimGet(path, header, idp, base) {
  const headers = { authorization: header, accept: "application/scim+json" };
  const res = await fetch(`${base}${withFlag(path, idp)}`, { headers, credentials: "omit", cache: "no-store" });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return { status: res.status, body };
}

function scimFailure(title, r, remedy) {
  const detail = r.body && r.body.detail ? r.body.detail : `HTTP ${r.status}`;
  return fail(title, `HTTP ${r.status}: ${detail}`, remedy);
}

async function run(raw, idpId) {
  const idp = IDPS[idpId];
  const steps = [];
  const format = checkFormat(raw, idp);
  if (!format.key) return { steps: [format], baseUrl: null };
  steps.push(format.step);
  const { key, header } = format;

  const check = await fetch("/_provgate/check", { method: "POST", headers: { authorization: `Bearer ${key}` }, credentials: "omit", cache: "no-store" });
  if (check.status === 404) {
    steps.push(fail("Key verification", "The connection doctor is turned off on this server.", "Test the connection from your identity provider, or ask the service provider."));
    return { steps, baseUrl: null };
  }
  if (check.status === 429) {
    steps.push(fail("Key verification", "Too many checks: invalid keys from your address, or this key over its rate limit.", `Wait ${check.headers.get("retry-after") || 60} seconds and try again.`));
    return { steps, baseUrl: null };
  }
  const info = await check.json();
  const scimBase = info.scim_base_url;
  // What the admin types into the IdP: the base URL, with the IdP's flag if it has one.
  const baseUrl = withFlag(scimBase, idp);
  if (!info.valid) {
    const why = {
      unknown: ["This server has no such key.", "A key minted less than a minute ago may not be usable everywhere yet: try again a minute later. Otherwise check that the identity provider points at this server (not a staging one), or ask the service provider for a key for this environment."],
      revoked: ["The key was revoked.", "Ask the service provider for a new key."],
      expired: ["The key has expired.", "Ask the service provider to rotate the key, then paste the new one."],
      not_yet_valid: ["The key is not valid yet.", "Wait until its start time, or ask the service provider."],
      ip_not_allowed: ["The key may not be used from your current address.", "That can be fine: the identity provider calls from its own addresses. Ask the service provider which addresses the key allows."],
    }[info.reason] || [`The key was refused (${info.reason}).`, "Copy the key again."];
    steps.push(fail("Key verification", why[0], why[1]));
    return { steps, baseUrl };
  }
  const facts = [`key id ${info.key_id}`, info.tenant && `tenant ${info.tenant}`, `scopes ${info.scopes.join(", ")}`, info.expires_at ? `expires ${info.expires_at}` : "no expiry", `${info.rate_per_minute}/min, burst ${info.burst}`];
  steps.push(pass("Key verification", facts.filter(Boolean).join(" · ")));
  if (info.usage) steps.push(pass("Recent use of this key", describeUsage(info.usage)));

  const caps = info.capabilities.filter((c) => c.operation.startsWith(idp.prefix) || !c.operation.includes(":"));
  const missing = caps.filter((c) => !c.allowed);
  steps.push(
    missing.length
      ? fail(`What ${idp.name} can do with this key`, missing.map((c) => `This key lacks ${c.missing.join(" and ")}: ${c.operation} will fail.`).join(" "), "Ask the service provider for a key with those scopes.")
      : pass(`What ${idp.name} can do with this key`, caps.map((c) => c.operation).join(" · ")),
  );

  const disco = await scimGet("/ServiceProviderConfig", header, idp, scimBase);
  steps.push(disco.status === 200 ? pass("Discovery (/ServiceProviderConfig)", "The SCIM service answers.") : scimFailure("Discovery (/ServiceProviderConfig)", disco, "The service behind this edge is not answering: tell the service provider."));

  const testPath = idp.test || `/Users?filter=${encodeURIComponent(`userName eq "${crypto.randomUUID()}"`)}`;
  const probe = await scimGet(testPath, header, idp, scimBase);
  steps.push(
    probe.status === 200
      ? pass(`${idp.name}: test connection`, `GET ${withFlag(testPath, idp)} answered 200.`)
      : scimFailure(`${idp.name}: test connection`, probe, probe.status === 403 ? "The key needs users:read for the test connection." : "Tell the service provider the request id shown above."),
  );

  for (const [scope, path] of [["users:read", "/Users?count=1"], ["groups:read", "/Groups?count=1"]]) {
    if (!info.scopes.includes(scope) && !info.scopes.includes("*")) continue;
    const r = await scimGet(path, header, idp, scimBase);
    steps.push(r.status === 200 ? pass(`Read with ${scope}`, `GET ${path} answered 200.`) : scimFailure(`Read with ${scope}`, r, "Tell the service provider the request id shown above."));
  }
  return { steps, baseUrl };
}

const CLIENT_ID_SHAPE = /^key_[0-9A-Za-z]{1,64}$/;

/** What the token endpoint's §5.2 errors mean for whoever set up the identity provider. */
const TOKEN_ERRORS = {
  invalid_client: ["The client ID or the client secret is wrong.", "The client ID is the key id (key_…) and the client secret is that key itself: copy both again."],
  unauthorized_client: ["This key may not use the client credentials grant.", "Ask the service provider to allow client_credentials in the key's auth modes."],
  invalid_scope: ["The identity provider asks for scopes the key does not hold.", "Leave the scope empty, or ask for a key with those scopes."],
};

/**
 * The OAuth client-credentials setup: the token endpoint URL, the client
 * id and secret as typed into the IdP, a test token, one SCIM call with it.
 */
async function runOAuth(tokenUrl, clientId, secret) {
  const steps = [];
  const expected = `${window.location.origin}/oauth/token`;
  if (tokenUrl.trim() !== expected) {
    steps.push(fail("Token endpoint URL", tokenUrl.trim() ? `This server's token endpoint is not ${tokenUrl.trim()}.` : "No token endpoint URL was entered.", `Enter exactly ${expected}`));
    return { steps, baseUrl: null };
  }
  steps.push(pass("Token endpoint URL", expected));
  if (!CLIENT_ID_SHAPE.test(clientId.trim())) {
    steps.push(fail("Client ID", "This is not a key id.", "The client ID is the key id: key_ followed by letters and digits, shown when the key was minted."));
    return { steps, baseUrl: null };
  }
  steps.push(pass("Client ID", clientId.trim()));
  const format = checkFormat(secret, { name: "The identity provider", bearer: true });
  if (!format.key) {
    steps.push({ ...format, title: "Client secret" });
    return { steps, baseUrl: null };
  }
  steps.push(pass("Client secret", "A well-formed provisioning key; the checksum matches."));
  const body = new URLSearchParams({ grant_type: "client_credentials", client_id: clientId.trim(), client_secret: format.key });
  const res = await fetch("/oauth/token", { method: "POST", body, credentials: "omit", cache: "no-store" });
  if (res.status === 404) {
    steps.push(fail("Test token", "OAuth is not turned on on this server.", "Ask the service provider to set TOKEN_SIGNING_SECRET, or use the key as a bearer token."));
    return { steps, baseUrl: null };
  }
  if (res.status === 429) {
    steps.push(fail("Test token", "Too many attempts from your address, or this key is over its rate limit.", `Wait ${res.headers.get("retry-after") || 60} seconds and try again.`));
    return { steps, baseUrl: null };
  }
  const answer = await res.json().catch(() => ({}));
  if (res.status !== 200 || !answer.access_token) {
    const [detail, remedy] = TOKEN_ERRORS[answer.error] || [`The token endpoint refused the request (${answer.error || `HTTP ${res.status}`}): ${answer.error_description || ""}`, "Tell the service provider the request id in the response."];
    steps.push(fail("Test token", detail, remedy));
    return { steps, baseUrl: null };
  }
  steps.push(pass("Test token", `Issued: scopes ${answer.scope}, valid ${answer.expires_in} s.`));
  const check = await fetch("/_provgate/check", { method: "POST", headers: { authorization: `Bearer ${format.key}` }, credentials: "omit", cache: "no-store" });
  const info = check.status === 200 ? await check.json() : {};
  if (!info.scim_base_url) return { steps, baseUrl: null };
  const path = `/Users?filter=${encodeURIComponent(`userName eq "${crypto.randomUUID()}"`)}`;
  const probe = await scimGet(path, `Bearer ${answer.access_token}`, {}, info.scim_base_url);
  steps.push(
    probe.status === 200
      ? pass("SCIM call with the test token", `GET ${path} answered 200.`)
      : scimFailure("SCIM call with the test token", probe, probe.status === 403 ? "The token's scopes lack users:read." : "Tell the service provider the request id shown above."),
  );
  return { steps, baseUrl: info.scim_base_url };
}

const OUTCOME_NAMES = {
  allowed: "allowed",
  rate_limited: "rate limited",
  revoked: "revoked",
  expired: "expired",
  not_yet_valid: "not yet valid",
  ip_denied: "refused for the caller's address",
  scope_denied: "refused for scope",
  rejected: "refused as malformed",
  origin_ok: "answered by the service",
  origin_client_error: "refused by the service (4xx)",
  origin_error: "failed at the service (5xx or no answer)",
  introspected: "checked with this page",
};

/** "Last used …; last hour: 3 allowed, 1 refused for scope; …" from the guard's report. */
function describeUsage(usage) {
  if (!usage.last_used) return "Not used yet: no request with this key has reached this server.";
  const counts = (c) => Object.entries(c || {}).map(([k, n]) => `${n} ${OUTCOME_NAMES[k] || k}`).join(", ") || "none";
  const origin = usage.last_origin_status ? ` (the service last answered ${usage.last_origin_status})` : "";
  return `Last used ${usage.last_used}${origin}. Last hour: ${counts(usage.windows?.["1h"])}. Last 24 hours: ${counts(usage.windows?.["24h"])}.`;
}

function render(result) {
  const list = document.getElementById("results");
  list.replaceChildren();
  for (const step of result.steps) {
    const li = document.createElement("li");
    li.className = step.ok ? "pass" : "fail";
    const verdict = document.createElement("span");
    verdict.className = "verdict";
    verdict.textContent = `${step.ok ? "PASS" : "FAIL"} — ${step.title}`;
    const detail = document.createElement("span");
    detail.className = "detail";
    detail.textContent = step.detail;
    li.append(verdict, detail);
    if (step.remedy) {
      const remedy = document.createElement("span");
      remedy.className = "remedy";
      remedy.textContent = `Fix: ${step.remedy}`;
      li.append(remedy);
    }
    list.append(li);
  }
  const base = document.getElementById("base-url");
  base.textContent = result.baseUrl ? `The identity provider's base URL (Tenant URL, SCIM connector base URL) must be ${result.baseUrl}` : "";
}

document.getElementById("oauth").addEventListener("submit", async (e) => {
  e.preventDefault();
  const button = document.getElementById("run-oauth");
  button.disabled = true;
  try {
    const value = (id) => document.getElementById(id).value;
    render(await runOAuth(value("token-url"), value("client-id"), value("client-secret")));
  } catch (err) {
    render({ steps: [fail("Running the checks", String(err), "Reload the page and try again.")], baseUrl: null });
  } finally {
    button.disabled = false;
    document.getElementById("results-title").focus?.();
  }
});

document.getElementById("show-key").addEventListener("change", (e) => {
  document.getElementById("key").type = e.target.checked ? "text" : "password";
});

document.getElementById("doctor").addEventListener("submit", async (e) => {
  e.preventDefault();
  const button = document.getElementById("run");
  button.disabled = true;
  try {
    const idp = new FormData(e.target).get("idp");
    render(await run(document.getElementById("key").value, idp));
  } catch (err) {
    render({ steps: [fail("Running the checks", String(err), "Reload the page and try again.")], baseUrl: null });
  } finally {
    button.disabled = false;
    document.getElementById("results-title").focus?.();
  }
});
