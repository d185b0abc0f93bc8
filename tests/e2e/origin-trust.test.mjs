// Origin trust: every forward is signed (RFC 9421 + RFC 9530) and the
// example verifier in front of scim2-server accepts exactly those; the IdP
// is never told its key is bad when the origin refuses the edge.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startEdge, startScimOrigin, startRecordingOrigin, mintKey, raw, randomSecret, SIGNING_SECRET } from "./harness.mjs";

const pepper = randomSecret();
const token = randomSecret();
const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Sends a request recorded at one origin to another, as if it were the first. */
function replay(recorded, fromUrl, toUrl, changes = {}) {
  const headers = { ...recorded.headers, host: new URL(fromUrl).host, ...(changes.headers ?? {}) };
  delete headers["content-length"];
  delete headers["transfer-encoding"];
  const path = changes.path ?? recorded.url;
  return raw(`${new URL(toUrl).origin}${path}`, { method: changes.method ?? recorded.method, headers, body: changes.body ?? (recorded.body || undefined) });
}

describe("signed forwards", () => {
  let verifying, recording, edgeToRecording, key;
  before(async () => {
    verifying = await startScimOrigin({ token, signingSecrets: [SIGNING_SECRET], maxAge: 5 });
    recording = await startRecordingOrigin(() => ({ status: 201, body: "{}" }));
    edgeToRecording = await startEdge({ originUrl: recording.url, originAuthorization: `Bearer ${token}`, pepper });
    key = await mintKey(edgeToRecording, pepper, { tenant: "acme" });
  });
  after(async () => {
    await edgeToRecording?.stop();
    await recording?.stop();
    await verifying?.stop();
  });

  test("every forward carries Content-Digest and an RFC 9421 signature over the request's identity", async () => {
    recording.received.length = 0;
    const body = JSON.stringify({ schemas: [USER], userName: "sig@example.com" });
    await raw(`${edgeToRecording.base}/Users?x=1`, { method: "POST", headers: { authorization: `Bearer ${key.key}`, "content-type": "application/scim+json" }, body });
    const got = recording.received[0];
    assert.match(got.headers["content-digest"], /^sha-256=:[A-Za-z0-9+/]{43}=:$/);
    const input = got.headers["signature-input"];
    assert.match(input, /^provgate=\("@method" "@target-uri" "content-digest" "x-provgate-key-id" "x-provgate-tenant"\);created=\d+;expires=\d+;nonce="[0-9a-f]{24}";keyid="provgate-[0-9a-f]{16}";alg="hmac-sha256"$/);
    const created = Number(input.match(/created=(\d+)/)[1]);
    const expires = Number(input.match(/expires=(\d+)/)[1]);
    assert.equal(expires - created, 60);
    assert.ok(Math.abs(created - Date.now() / 1000) < 30);
    assert.match(got.headers.signature, /^provgate=:[A-Za-z0-9+/]{43}=:$/);
  });

  test("the verifier accepts a forward once, and rejects a replay, a tampered body, path or key id, and a late copy", async () => {
    recording.received.length = 0;
    const body = JSON.stringify({ schemas: [USER], userName: "replay@example.com" });
    await raw(`${edgeToRecording.base}/Users`, { method: "POST", headers: { authorization: `Bearer ${key.key}`, "content-type": "application/scim+json" }, body });
    const signed = recording.received[0];

    const first = await replay(signed, recording.url, verifying.url);
    assert.equal(first.status, 201, `a genuine forward is accepted: ${first.text}`);
    const again = await replay(signed, recording.url, verifying.url);
    assert.equal(again.status, 401, "the same request twice is a replay");
    assert.match(again.json().detail, /replayed/);

    for (const [what, changes, reason] of [
      ["body", { body: body.replace("replay@", "admin@") }, /Content-Digest/],
      ["path", { path: "/v2/Groups" }, /bad signature/],
      ["key id", { headers: { "x-provgate-key-id": "key_other" } }, /bad signature/],
      ["tenant", { headers: { "x-provgate-tenant": "globex" } }, /bad signature/],
      ["method", { method: "PUT" }, /bad signature/],
    ]) {
      const res = await replay(signed, recording.url, verifying.url, changes);
      assert.equal(res.status, 401, what);
      assert.match(res.json().detail, reason, what);
    }

    recording.received.length = 0;
    await raw(`${edgeToRecording.base}/Users`, { method: "POST", headers: { authorization: `Bearer ${key.key}`, "content-type": "application/scim+json" }, body: body.replace("replay@", "late@") });
    const late = recording.received[0];
    await sleep(6500); // past the verifier's max age (5 s here)
    const res = await replay(late, recording.url, verifying.url);
    assert.equal(res.status, 401);
    assert.match(res.json().detail, /too old/);
  });

  test("a request sent straight to the origin, around the edge, is rejected even with the origin's own token", async () => {
    const res = await raw(`${verifying.url}/Users`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401);
    assert.match(res.json().detail, /not signed|Content-Digest/);
  });
});

describe("honest origin errors", () => {
  test("an origin refusing the edge's credential or signature gives the IdP 502, not a bad-key 401", async () => {
    const origin = await startScimOrigin({ token, signingSecrets: [SIGNING_SECRET] });
    const wrongToken = await startEdge({ originUrl: origin.url, originAuthorization: "Bearer not-the-origin-token", pepper });
    const wrongSecret = await startEdge({ originUrl: origin.url, originAuthorization: `Bearer ${token}`, pepper, vars: { ORIGIN_SIGNING_SECRET: randomSecret() } });
    try {
      for (const edge of [wrongToken, wrongSecret]) {
        const { key } = await mintKey(edge, pepper);
        const res = await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key}` } });
        assert.equal(res.status, 502);
        assert.equal(res.headers["www-authenticate"], undefined, "nothing suggests the IdP's key is bad");
        assert.match(res.json().detail, /key was accepted/);
        const line = await edge.auditFor(res.headers["x-request-id"]);
        assert.deepEqual([line.reason, line.origin_status], ["origin_rejected_edge", 401]);
        assert.ok(edge.logs.some((l) => l.level === "error" && l.message.includes("origin_rejected_edge")), "logged at error level");
      }
    } finally {
      await wrongToken.stop();
      await wrongSecret.stop();
      await origin.stop();
    }
  });

  test("other origin statuses pass through unchanged", async () => {
    const origin = await startRecordingOrigin((r) => (r.url.includes("missing") ? { status: 404, body: '{"status":"404"}' } : { status: 409, body: '{"status":"409","scimType":"uniqueness"}' }));
    const edge = await startEdge({ originUrl: origin.url, pepper });
    try {
      const { key } = await mintKey(edge, pepper);
      const auth = { authorization: `Bearer ${key}` };
      assert.equal((await raw(`${edge.base}/Users/missing`, { headers: auth })).status, 404);
      const conflict = await raw(`${edge.base}/Users`, { method: "POST", headers: auth, body: "{}" });
      assert.equal(conflict.status, 409);
      assert.equal(conflict.text, '{"status":"409","scimType":"uniqueness"}');
    } finally {
      await edge.stop();
      await origin.stop();
    }
  });
});

describe("signing-secret rotation", () => {
  test("with ORIGIN_SIGNING_SECRET_PREVIOUS set, origins holding either secret accept the forward", async () => {
    const oldSecret = randomSecret();
    const newSecret = randomSecret();
    const oldOrigin = await startScimOrigin({ token, signingSecrets: [oldSecret] });
    const newOrigin = await startScimOrigin({ token, signingSecrets: [newSecret] });
    const vars = { ORIGIN_SIGNING_SECRET: newSecret, ORIGIN_SIGNING_SECRET_PREVIOUS: oldSecret };
    const toOld = await startEdge({ originUrl: oldOrigin.url, originAuthorization: `Bearer ${token}`, pepper, vars });
    const toNew = await startEdge({ originUrl: newOrigin.url, originAuthorization: `Bearer ${token}`, pepper, vars });
    try {
      for (const edge of [toOld, toNew]) {
        const { key } = await mintKey(edge, pepper);
        const res = await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key}` } });
        assert.equal(res.status, 200, res.text);
      }
    } finally {
      await toOld.stop();
      await toNew.stop();
      await oldOrigin.stop();
      await newOrigin.stop();
    }
  });

  test("a Worker without ORIGIN_SIGNING_SECRET forwards nothing", async () => {
    const origin = await startRecordingOrigin();
    const edge = await startEdge({ originUrl: origin.url, pepper, vars: { ORIGIN_SIGNING_SECRET: undefined } });
    try {
      const { key } = await mintKey(edge, pepper);
      const res = await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 500);
      assert.equal(origin.received.length, 0);
    } finally {
      await edge.stop();
      await origin.stop();
    }
  });
});
