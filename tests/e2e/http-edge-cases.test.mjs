// HTTP edge cases of the credential and the request line, end to end in
// workerd: repeated, oversized, empty, oddly spaced and non-ASCII
// Authorization headers, oversized URLs and keys in the query string. Each
// refusal must be a SCIM error with its reason in the audit line, and must
// reach nothing: a recording origin counts what gets through.
import { test, describe, before, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { mintKey, raw, rawBytes, randomSecret, recordingEdgeFixture } from "./harness.mjs";

const SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";
const pepper = randomSecret();
/** Every key this suite sends, in any form: none may appear in a log line. */
const sentKeys = [];

describe("HTTP edge cases", () => {
  // A high failure limit: this suite sends many bad credentials from one address.
  const fx = recordingEdgeFixture({ pepper, authFailureLimit: 10_000 });
  let key, other;
  before(async () => {
    key = (await mintKey(fx.edge, pepper, { scopes: "*" })).key;
    other = (await mintKey(fx.edge, pepper, { scopes: "*" })).key;
    sentKeys.push(key, other);
  });
  beforeEach(() => {
    fx.origin.received.length = 0;
  });

  /** A refusal by the edge: status, SCIM error body, audit reason, origin untouched. */
  async function assertRefused(res, status, reason) {
    assert.equal(res.status, status, res.text);
    assert.equal(res.headers["content-type"], "application/scim+json");
    const body = res.json();
    assert.deepEqual(body.schemas, [SCIM_ERROR]);
    assert.equal(body.status, String(status));
    const requestId = res.headers["x-request-id"];
    assert.ok(requestId && body.detail.includes(requestId), "detail names the request id");
    const line = await fx.edge.auditFor(requestId);
    assert.equal(line.reason, reason);
    assert.equal(line.decision, "deny");
    assert.equal(line.key_id, null, "no key was verified");
    assert.equal(fx.origin.received.length, 0, "nothing reached the origin");
    return body;
  }

  /** An answer by workerd itself: the Worker never ran, so no audit line and no origin call. */
  async function assertRuntimeAnswered(res, status) {
    assert.equal(res.status, status, JSON.stringify(res));
    assert.equal(res.headers["x-request-id"], undefined, "the edge did not answer");
    assert.equal(fx.origin.received.length, 0, "nothing reached the origin");
  }

  async function auditCountSettled(before) {
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(fx.edge.auditLines().length, before, "no audit line: the Worker never ran");
  }

  /** One request with its Authorization value as raw bytes (node:http refuses non-ASCII). */
  function withAuthorizationBytes(path, value) {
    const host = new URL(fx.edge.url).host;
    const head = Buffer.from(`GET /scim/v2${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nAuthorization: `);
    return rawBytes(fx.edge.url, Buffer.concat([head, value, Buffer.from("\r\n\r\n")]));
  }

  test("two different Authorization headers reach the edge joined with ', ' and are refused as malformed", async () => {
    const res = await raw(`${fx.edge.base}/Users`, { headers: { authorization: [`Bearer ${key}`, `Bearer ${other}`] } });
    const body = await assertRefused(res, 401, "key_malformed");
    assert.match(body.detail, /exactly once/);
    assert.equal(res.headers["www-authenticate"], 'Bearer realm="provgate", error="invalid_token"');
  });

  test("the same valid key sent twice is refused too: the edge cannot tell two headers from a list", async () => {
    for (const pair of [[`Bearer ${key}`, `Bearer ${key}`], [key, key], [`Bearer ${key}`, ""]]) {
      const res = await raw(`${fx.edge.base}/Users`, { headers: { authorization: pair } });
      await assertRefused(res, 401, "key_malformed");
    }
  });

  test("empty and whitespace-only Authorization headers are missing credentials", async () => {
    for (const value of ["", "   "]) {
      const res = await raw(`${fx.edge.base}/Users`, { headers: { authorization: value } });
      await assertRefused(res, 401, "missing_credentials");
      assert.equal(res.headers["www-authenticate"], 'Bearer realm="provgate"');
    }
    await assertRefused(await withAuthorizationBytes("/Users", Buffer.from("\t \t")), 401, "missing_credentials");
  });

  test("'Bearer' with no key is malformed", async () => {
    for (const value of ["Bearer", "Bearer ", "Bearer     ", "bearer\t"]) {
      const res = await raw(`${fx.edge.base}/Users`, { headers: { authorization: value } });
      await assertRefused(res, 401, "key_malformed");
    }
  });

  test("a lowercase 'bearer' scheme is accepted (schemes are case-insensitive) and the key is not forwarded", async () => {
    const res = await raw(`${fx.edge.base}/Users`, { headers: { authorization: `bearer ${key}` } });
    assert.equal(res.status, 200, res.text);
    assert.equal((await fx.edge.auditFor(res.headers["x-request-id"])).reason, "forwarded");
    assert.equal(fx.origin.received.length, 1);
    assert.equal(fx.origin.received[0].headers.authorization, undefined, "the IdP's key stays at the edge");
  });

  test("a tab instead of the space after 'Bearer' is malformed (RFC 9110 separates with SP)", async () => {
    const res = await raw(`${fx.edge.base}/Users`, { headers: { authorization: `Bearer\t${key}` } });
    await assertRefused(res, 401, "key_malformed");
  });

  test("non-ASCII bytes around or inside a valid key are malformed, never trimmed away", async () => {
    const cases = [
      Buffer.concat([Buffer.from("Bearer "), Buffer.from([0xc2, 0xa0]), Buffer.from(key)]), // U+00A0 before
      Buffer.concat([Buffer.from(`Bearer ${key}`), Buffer.from([0xe3, 0x80, 0x80])]), // U+3000 after
      Buffer.concat([Buffer.from([0xe2, 0x80, 0x83]), Buffer.from(key)]), // U+2003 before a bare key
      Buffer.concat([Buffer.from("Bearer "), Buffer.from([0xa0]), Buffer.from(key)]), // a lone Latin-1 byte
      Buffer.from(`Bearer ${key.slice(0, 10)}é${key.slice(11)}`), // a character of the key replaced
    ];
    for (const value of cases) {
      await assertRefused(await withAuthorizationBytes("/Users", value), 401, "key_malformed");
    }
    // The same request with plain bytes passes, so the refusals above are about the bytes.
    const plain = await withAuthorizationBytes("/Users", Buffer.from(`Bearer ${key}`));
    assert.equal(plain.status, 200, plain.text);
    assert.equal(fx.origin.received.length, 1);
  });

  test("a 100 KiB Authorization header reaches the edge and is refused at once", async () => {
    const started = Date.now();
    const res = await raw(`${fx.edge.base}/Users`, { headers: { authorization: `Bearer ${"a".repeat(100 * 1024)}` } });
    await assertRefused(res, 401, "key_malformed");
    assert.ok(Date.now() - started < 5_000, "answered without delay");
  });

  test("headers over workerd's limit (~128 KiB) are answered 431 by workerd itself, quickly", async () => {
    const before = fx.edge.auditLines().length;
    const host = new URL(fx.edge.url).host;
    const started = Date.now();
    const huge = `GET /scim/v2/Users HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nAuthorization: Bearer ${key}${"a".repeat(200 * 1024)}\r\n\r\n`;
    await assertRuntimeAnswered(await rawBytes(fx.edge.url, Buffer.from(huge)), 431);
    const longUrl = `GET /scim/v2/Users/${"a".repeat(200 * 1024)} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nAuthorization: Bearer ${key}\r\n\r\n`;
    await assertRuntimeAnswered(await rawBytes(fx.edge.url, Buffer.from(longUrl)), 431);
    assert.ok(Date.now() - started < 5_000, "answered without delay");
    await auditCountSettled(before);
  });

  test("a URL over 16 KiB is refused with 414 even with a valid key", async () => {
    const auth = { authorization: `Bearer ${key}` };
    for (const path of [`/Users/${"a".repeat(17 * 1024)}`, `/Users?filter=${"a".repeat(17 * 1024)}`]) {
      const res = await raw(`${fx.edge.base}${path}`, { headers: auth });
      await assertRefused(res, 414, "url_too_long");
    }
    // Just under the limit it is an ordinary request.
    // (12 KiB: the recording origin, node:http, takes at most 16 KiB of headers.)
    const fits = await raw(`${fx.edge.base}/Users?filter=${"a".repeat(12 * 1024)}`, { headers: auth });
    assert.equal(fits.status, 200, fits.text);
    assert.equal(fx.origin.received.length, 1);
  });

  test("a key in the query string is refused whatever its form, never forwarded", async () => {
    const encoded = [...key].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
    sentKeys.push(encoded);
    const auth = { authorization: `Bearer ${key}` };
    const cases = [
      [`/Users?access_token=${key}`, {}],
      [`/Users?key=${other}`, auth],
      [`/Users?filter=userName%20eq%20%22${key}%22`, auth],
      [`/Users?x=${encoded}`, {}],
      ["/Users?ACCESS_TOKEN=not-even-a-key", auth],
      [`/ServiceProviderConfig?access_token=${key}`, {}],
    ];
    for (const [path, headers] of cases) {
      const body = await assertRefused(await raw(`${fx.edge.base}${path}`, { headers }), 400, "key_in_query");
      assert.match(body.detail, /rotate/);
    }
    // The connection doctor's route is refused the same way.
    const check = await raw(`${fx.edge.url}/_provgate/check?access_token=${key}`, { method: "POST", headers: auth, body: "" });
    await assertRefused(check, 400, "key_in_query");
  });

  test("an ordinary query (Entra's flag, a filter) still passes byte for byte", async () => {
    const query = "aadOptscim062020&filter=userName%20eq%20%22pvk%22";
    const res = await raw(`${fx.edge.base}/Users?${query}`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(fx.origin.received.map((r) => r.url), [`/v2/Users?${query}`]);
  });

  test("no log line holds any key this suite sent", async () => {
    assert.ok(fx.edge.logs.length > 20, "the suite produced logs to search");
    const everything = fx.edge.logs.map((l) => JSON.stringify(l)).join("\n");
    for (const k of sentKeys) {
      assert.ok(!everything.includes(k), "a key appears in the logs");
      assert.ok(!everything.includes(k.slice(4, 30)), "part of a key appears in the logs");
    }
  });
});
