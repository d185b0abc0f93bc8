// The connection doctor in a real browser (Debian's Chromium driven by
// playwright-core) against the built Worker in workerd, serving the page
// from www/ as [assets] does.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { startEdge, startScimOrigin, mintKey, raw, randomSecret, SIGNING_SECRET } from "./harness.mjs";
import { leaks } from "./leak-watch.mjs";

/** CHROMIUM_PATH, or `chromium` on the PATH. */
const CHROMIUM =
  process.env.CHROMIUM_PATH ||
  (process.env.PATH ?? "").split(path.delimiter).map((dir) => path.join(dir, "chromium")).find((file) => existsSync(file)) ||
  "chromium";
const pepper = randomSecret();
const token = randomSecret();
// Without a browser (no root or apt-get to install one, macOS without
// CHROMIUM_PATH) the suite is skipped, saying so; in CI it must not be.
const inCi = process.env.CI === "true";
const noBrowser = existsSync(CHROMIUM) ? false : `no Chromium (${CHROMIUM}): install it (make install-test does, as root on Debian) or set CHROMIUM_PATH`;
if (noBrowser && !inCi) console.warn(`# SKIPPED: the connection doctor's browser test: ${noBrowser}`);

describe("connection doctor", { timeout: 180_000, skip: inCi ? false : noBrowser }, () => {
  let origin, edge, browser, profile, page, requests, sent;
  before(async () => {
    assert.ok(!noBrowser, `${noBrowser} (CI=true: a missing browser fails the run)`);
    origin = await startScimOrigin({ token, signingSecrets: [SIGNING_SECRET] });
    // One test plays a remote IdP (CF-Connecting-IP) over plain HTTP.
    edge = await startEdge({ originUrl: origin.url, originAuthorization: `Bearer ${token}`, pepper, assets: true, vars: { REQUIRE_HTTPS: "false", TOKEN_SIGNING_SECRET: randomSecret() } });
    profile = mkdtempSync(path.join(tmpdir(), "provgate-chromium-"));
    // A fresh profile each run; the flags keep Chromium off the (closed) network.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await browser.newPage();
    requests = [];
    sent = [];
    page.on("request", (r) => {
      requests.push(r.url());
      sent.push({ url: r.url(), authorization: r.headers().authorization });
    });
    await page.goto(`${edge.url}/`);
  });
  after(async () => {
    await browser?.close();
    await edge?.stop();
    await origin?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function diagnose(key, idp) {
    await page.fill("#key", key);
    await page.check(`input[name=idp][value=${idp}]`);
    await page.click("#run");
    await page.waitForFunction(() => document.querySelectorAll("#results li").length > 0 && !document.getElementById("run").disabled);
    return page.$$eval("#results li", (items) => items.map((li) => ({ ok: li.className === "pass", text: li.textContent })));
  }

  test("the page is plain, self-contained and accessible", async () => {
    const res = await raw(`${edge.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers["content-security-policy"], /default-src 'none'; script-src 'self'/);
    assert.ok(!/https?:\/\//.test(res.text.replace(/http-equiv/g, "")), "no external scripts, fonts or CDNs");
    assert.equal(await page.getAttribute("#key", "type"), "password");
    for (const id of ["key"]) assert.equal(await page.$eval(`label[for=${id}]`, (l) => l.textContent.trim().length > 0), true);
    assert.equal(await page.$eval("#results", (el) => el.getAttribute("aria-live")), "polite");
  });

  test("a good key for Okta: every step passes, and a missing scope is named with the feature that will fail", async () => {
    const { key } = await mintKey(edge, pepper, { scopes: "users:read,users:write", label: "Okta prod" });
    requests.length = 0;
    const steps = await diagnose(key, "okta-header");
    const failed = steps.filter((s) => !s.ok);
    assert.equal(failed.length, 1, JSON.stringify(steps, null, 1));
    assert.match(failed[0].text, /lacks groups:read and groups:write: Okta: Push Groups will fail/);
    assert.ok(steps.some((s) => s.ok && /Key verification/.test(s.text) && /scopes users:read, users:write/.test(s.text)));
    assert.ok(!steps.some((s) => /Okta prod/.test(s.text)), "the operator's label is not shown");
    assert.ok(steps.some((s) => s.ok && /test connection/.test(s.text)));
    assert.ok(steps.some((s) => s.ok && /Read with users:read/.test(s.text)));
    assert.match(await page.textContent("#base-url"), new RegExp(`${edge.base.replace(/[.]/g, "\\.")}$`));
    assert.ok(requests.every((u) => u.startsWith(edge.url)), `the key goes nowhere but this edge: ${requests}`);
  });

  test("Bearer pasted in Okta's HTTP Header mode works: every step passes, with a note", async () => {
    const { key } = await mintKey(edge, pepper, { scopes: "users:read,users:write,groups:read,groups:write" });
    sent.length = 0;
    const steps = await diagnose(`Bearer ${key}`, "okta-header");
    assert.ok(steps.every((s) => s.ok), JSON.stringify(steps, null, 1));
    assert.match(steps[0].text, /PASS.*Key format.*sends the field as it is.*which it accepts/s);
    assert.ok(steps.some((s) => s.ok && /Okta \(HTTP Header\): test connection/.test(s.text)));
    // The probes went as Okta sends them: "Bearer <key>", the word once.
    const probes = sent.filter((r) => r.url.includes("/scim/v2/"));
    assert.ok(probes.length >= 3 && probes.every((r) => r.authorization === `Bearer ${key}`), JSON.stringify(probes.map((r) => r.url)));
  });

  test("Entra ID: the base URL carries ?aadOptscim062020, and so do the probes", async () => {
    const { key } = await mintKey(edge, pepper, { scopes: "users:read,users:write,groups:read,groups:write" });
    const seen = origin.requests().length;
    requests.length = 0;
    const steps = await diagnose(key, "entra");
    assert.ok(steps.every((s) => s.ok), JSON.stringify(steps, null, 1));
    assert.match(await page.textContent("#base-url"), new RegExp(`${edge.base.replace(/[.]/g, "\\.")}\\?aadOptscim062020$`));
    const probes = requests.filter((u) => u.includes("/scim/v2/"));
    assert.ok(probes.length >= 3 && probes.every((u) => new URL(u).search.startsWith("?aadOptscim062020")), probes.join("\n"));
    assert.ok(probes.some((u) => /\/Users\?aadOptscim062020&filter=userName/.test(u)), "the test-connection filter, after the flag");
    assert.ok(origin.requests().slice(seen).some((r) => r.path.startsWith("/v2/Users?aadOptscim062020&filter=")), "the flag reaches the origin byte for byte");
  });

  test("Bearer where the IdP adds it itself, a typo, and a revoked key get the exact remedy", async () => {
    const { key } = await mintKey(edge, pepper);
    requests.length = 0;
    let steps = await diagnose(`Bearer ${key}`, "entra");
    assert.match(steps[0].text, /adds “Bearer ” itself/);
    const typo = key.slice(0, 12) + (key[12] === "a" ? "b" : "a") + key.slice(13);
    steps = await diagnose(typo, "okta-header");
    assert.match(steps[0].text, /checksum does not match/);
    assert.equal(requests.filter((u) => !u.endsWith("/") && !/\.(js|css)$/.test(u)).length, 0, "format errors are found in the page, before any request");

    const revoked = await mintKey(edge, pepper, { edit: (r) => ({ ...r, status: "revoked" }) });
    steps = await diagnose(revoked.key, "onelogin");
    assert.equal(steps.length, 2);
    assert.match(steps[1].text, /FAIL.*Key verification.*revoked/s);
  });

  test("the page shows the key's last use and recent outcomes, never its addresses", async () => {
    const { key, keyId } = await mintKey(edge, pepper, { scopes: "users:read" });
    // Before any use the key has no guard, and the page's check does not make one (it would be
    // placed near this browser, not near the IdP): the page says so.
    let steps = await diagnose(key, "entra");
    assert.ok(steps.some((s) => s.ok && /Recent use of this key.*Not used yet/s.test(s.text)), JSON.stringify(steps, null, 1));
    // What the IdP did: two reads and one write its scopes do not allow.
    const call = (method) => raw(`${edge.base}/Users`, { method, headers: { authorization: `Bearer ${key}`, "cf-connecting-ip": "192.0.2.77", "content-type": "application/scim+json" }, body: method === "POST" ? "{}" : undefined });
    assert.deepEqual([(await call("GET")).status, (await call("GET")).status, (await call("POST")).status], [200, 200, 403]);
    // The guard writes the first use into the key's summary; from then on checks are counted.
    for (let i = 0; i < 100 && !(await edge.kv.getWithMetadata(`id:${keyId}`)).metadata?.u; i++) await new Promise((done) => setTimeout(done, 100));
    const info = (await raw(`${edge.url}/_provgate/check`, { method: "POST", headers: { authorization: `Bearer ${key}` } })).json();
    assert.equal(info.usage.windows["1h"].scope_denied, 1);
    assert.ok(info.usage.windows["1h"].allowed >= 2, "the page's own probes count too");
    assert.equal(info.usage.windows["1h"].introspected, 1, "the check itself is a use of the key, counted as such");
    assert.ok(!JSON.stringify(info).includes("192.0.2.77"), "addresses are for operators only");
    steps = await diagnose(key, "entra");
    const recent = steps.find((s) => /Recent use of this key/.test(s.text));
    assert.match(recent.text, /Last used \d{4}-\d\d-\d\dT/);
    assert.match(recent.text, /Last hour: \d+ allowed, [2-9] checked with this page, \d+ answered by the service, 1 refused for scope\./);
  });

  test("introspection tells only about the key presented, and counts failures", async () => {
    const { key, keyId } = await mintKey(edge, pepper, { tenant: "acme" });
    const good = await raw(`${edge.url}/_provgate/check`, { method: "POST", headers: { authorization: `Bearer ${key}` } });
    const info = good.json();
    assert.deepEqual([info.valid, info.key_id, info.tenant], [true, keyId, "acme"]);
    assert.ok(!("label" in info), "no operator label");
    assert.ok(!good.text.includes(key) && !good.text.includes("hash:"));
    const bad = await raw(`${edge.url}/_provgate/check`, { method: "POST", headers: { authorization: "Bearer pvk_nope" } });
    assert.deepEqual(Object.keys(bad.json()).sort(), ["reason", "scim_base_url", "valid"]);
    assert.equal((await edge.auditFor(bad.headers["x-request-id"])).reason, "introspected_invalid");
  });

  async function diagnoseOAuth(tokenUrl, clientId, secret) {
    await page.fill("#token-url", tokenUrl);
    await page.fill("#client-id", clientId);
    await page.fill("#client-secret", secret);
    await page.click("#run-oauth");
    await page.waitForFunction(() => document.querySelectorAll("#results li").length > 0 && !document.getElementById("run-oauth").disabled);
    return page.$$eval("#results li", (items) => items.map((li) => ({ ok: li.className === "pass", text: li.textContent })));
  }

  test("an OAuth client-credentials setup: endpoint URL, client id, secret, a test token and a SCIM call with it", async () => {
    const { key, keyId } = await mintKey(edge, pepper, { scopes: "users:read", edit: (r) => ({ ...r, auth_modes: ["client_credentials"] }) });
    const good = await diagnoseOAuth(`${edge.url}/oauth/token`, keyId, key);
    assert.deepEqual(good.map((s) => s.ok), [true, true, true, true, true], JSON.stringify(good));
    assert.match(good[3].text, /Test token.*scopes users:read, valid 3600 s/s);
    assert.match(good[4].text, /SCIM call with the test token.*answered 200/s);
    const sentToken = sent.find((r) => r.url.includes("/scim/v2/Users?filter=") && r.authorization?.startsWith("Bearer pva_"));
    assert.ok(sentToken, "the SCIM call carried the test token, not the key");
    leaks.secret("access token", sentToken.authorization);

    const wrongUrl = await diagnoseOAuth(`${edge.url}/oauth2/token`, keyId, key);
    assert.equal(wrongUrl.length, 1);
    assert.match(wrongUrl[0].text, new RegExp(`FAIL.*Token endpoint URL.*Enter exactly ${edge.url}/oauth/token`, "s"));
    const wrongId = await diagnoseOAuth(`${edge.url}/oauth/token`, "key_someoneElse", key);
    assert.match(wrongId.at(-1).text, /FAIL.*Test token.*client ID or the client secret is wrong/s);
    const bearerOnly = await mintKey(edge, pepper, { scopes: "users:read" });
    const notAllowed = await diagnoseOAuth(`${edge.url}/oauth/token`, bearerOnly.keyId, bearerOnly.key);
    assert.match(notAllowed.at(-1).text, /FAIL.*Test token.*may not use the client credentials grant.*client_credentials/s);
  });

  test("the OAuth authorization page: the pasted key is posted with the IdP's request, and the browser lands at the redirect URI with a code", async () => {
    const redirect = "https://acme.okta.example/oauth/callback";
    const { key, keyId } = await mintKey(edge, pepper, { scopes: "users:read", edit: (r) => ({ ...r, auth_modes: ["authorization_code"], redirect_uris: [redirect] }) });
    // A page of its own: the IdP's host does not resolve here, so the browser ends on its error page.
    const tab = await browser.newPage();
    try {
      const params = new URLSearchParams({ response_type: "code", client_id: keyId, redirect_uri: redirect, state: "from-the-idp" });
      await tab.goto(`${edge.url}/oauth/authorize?${params}`);
      assert.equal(await tab.textContent("#client-id"), keyId);
      assert.equal(await tab.textContent("#redirect-to"), "acme.okta.example");
      assert.equal(await tab.getAttribute("#key", "type"), "password");
      await tab.fill("#key", key);
      // The browser's attempt to go to the IdP (the 303, which the page's CSP lets through to
      // https) shows where it was sent.
      const [sentBack] = await Promise.all([
        tab.waitForEvent("requestfailed", (r) => r.url().startsWith(redirect)),
        tab.waitForEvent("framenavigated", (f) => f === tab.mainFrame() && f.url().startsWith("chrome-error:")),
        tab.click("#approve"),
      ]);
      const landed = new URL(sentBack.url());
      assert.equal(`${landed.origin}${landed.pathname}`, redirect);
      assert.equal(landed.searchParams.get("state"), "from-the-idp");
      const code = landed.searchParams.get("code");
      assert.match(code, /^pvc_/);
      leaks.secret("authorization code", code);
    } finally {
      await tab.close();
    }
    // A request the edge cannot trust stays on the edge's own error page.
    const other = await browser.newPage();
    try {
      await other.goto(`${edge.url}/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: keyId, redirect_uri: "https://evil.example/cb" })}`);
      await other.fill("#key", key);
      await Promise.all([other.waitForURL(`${edge.url}/oauth/approve**`), other.click("#approve")]);
      assert.match(await other.textContent("body"), /redirect URI is not registered on this key/);
    } finally {
      await other.close();
    }
  });

  test("with DOCTOR=off the route is gone (404) and the page says the doctor is off", async () => {
    const off = await startEdge({ originUrl: origin.url, originAuthorization: `Bearer ${token}`, pepper, assets: true, vars: { DOCTOR: "off" } });
    try {
      const { key } = await mintKey(off, pepper);
      const res = await raw(`${off.url}/_provgate/check`, { method: "POST", headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 404);
      assert.equal((await off.auditFor(res.headers["x-request-id"])).reason, "not_found");
      await page.goto(`${off.url}/`);
      const steps = await diagnose(key, "okta-header");
      assert.equal(steps.length, 2, JSON.stringify(steps));
      assert.match(steps[1].text, /FAIL.*Key verification.*turned off/s);
    } finally {
      await page.goto(`${edge.url}/`);
      await off.stop();
    }
  });
});
