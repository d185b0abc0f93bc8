// The leak scan can fail. Log lines, origin headers and CLI output holding
// a registered secret or query string are caught and named by kind and
// place, never quoted; and on the real Worker both console levels reach
// the scan, and what the harness watches (an edge's logs, an origin's
// headers, the CLI's output) fails the suite when it holds a secret.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createLeakRegistry, withoutShownKeys, assertNoLeaks } from "./leaks.mjs";
import { startEdge, startRecordingOrigin, startScimOrigin, mintKey, raw, randomSecret, runCli } from "./harness.mjs";

const auditLine = (fields) =>
  JSON.stringify({ ts: "2026-11-29T09:12:38Z", request_id: "0123456789abcdef01234567", key_id: "key_2pfJhWnE8JdAvhhv", decision: "allow", reason: "forwarded", method: "GET", resource: "users", status: 200, latency_ms: 12, ...fields });
const KEY = "pvk_" + "7Hq2".repeat(10) + "xYz" + "0aB9cD";

/** A registry holding one secret of every kind, and the secrets themselves. */
function registry() {
  const secrets = {
    "minted key": KEY,
    pepper: randomSecret(),
    "previous pepper": randomSecret(),
    "signing secret": randomSecret(),
    "previous signing secret": randomSecret(),
    "admin token": randomSecret(),
    "origin credential": `Bearer ${randomSecret()}`,
  };
  const leaks = createLeakRegistry();
  for (const [kind, value] of Object.entries(secrets)) leaks.secret(kind, value);
  return { leaks, secrets };
}

/** The message assertNoLeaks throws for `findings`, checked not to quote any secret. */
function failure(findings, secrets) {
  let message;
  try {
    assertNoLeaks(findings);
  } catch (e) {
    message = e.message;
  }
  assert.ok(message, "assertNoLeaks throws on a finding");
  for (const value of secrets) assert.ok(!message.includes(value), "the failure never quotes the secret");
  return message;
}

describe("the scanner", () => {
  test("a secret of every kind in a log line is caught, named by kind and the line's reason", () => {
    const { leaks, secrets } = registry();
    for (const [kind, value] of Object.entries(secrets)) {
      const findings = leaks.scanLogs([{ level: "error", message: auditLine({ reason: "misconfigured", client_ip: value }) }]);
      assert.deepEqual(findings, [`${kind} in the log line of request 0123456789abcdef01234567 (level error, reason misconfigured)`]);
      assert.match(failure(findings, Object.values(secrets)), /secret leak \(1\)/);
    }
  });

  test("a line that is not JSON is named by its level only", () => {
    const { leaks, secrets } = registry();
    const findings = leaks.scanLogs([{ level: "log", message: `panicked at src/edge/config.rs: bad pepper ${secrets.pepper}` }]);
    assert.deepEqual(findings, ["pepper in a log line at level log that is not an audit line"]);
    failure(findings, Object.values(secrets));
  });

  test("a key is caught in any case: lowercased, uppercased, JSON-escaped", () => {
    const { leaks, secrets } = registry();
    for (const form of [KEY.toLowerCase(), KEY.toUpperCase(), JSON.stringify(KEY.toLowerCase())]) {
      const findings = leaks.scanLogs([{ level: "log", message: auditLine({ resource: form }) }]);
      assert.deepEqual(findings, ["minted key in the log line of request 0123456789abcdef01234567 (level log, reason forwarded)"], form);
      failure(findings, [...Object.values(secrets), form]);
    }
  });

  test("the origin credential is caught whole and as the token after its scheme", () => {
    const { leaks, secrets } = registry();
    const token = secrets["origin credential"].slice("Bearer ".length);
    assert.equal(leaks.scanLogs([{ level: "log", message: auditLine({ tenant: token }) }]).length, 1);
  });

  test("a query string is caught raw, percent-decoded, form-decoded and JSON-escaped", () => {
    const leaks = createLeakRegistry();
    leaks.query("filter=userName%20eq%20%22bjensen%40example.com%22&startIndex=1&count=100");
    leaks.query("aadOptscim062020&filter=displayName+eq+%22Sales+Team%22");
    const leaked = [
      "filter=userName%20eq%20%22bjensen%40example.com%22&startIndex=1&count=100",
      'filter=userName eq "bjensen@example.com"&startIndex=1&count=100',
      JSON.stringify({ filter: 'userName eq "bjensen@example.com"' }),
      "userName%20eq%20%22bjensen%40example.com%22",
      "looked up displayName eq \"Sales Team\"",
    ];
    for (const message of leaked) {
      assert.deepEqual(leaks.scanLogs([{ level: "log", message }]), ["query string in a log line at level log that is not an audit line"], message);
    }
  });

  test("ordinary audit lines and short values give no finding", () => {
    const { leaks } = registry();
    leaks.query("startIndex=1&count=100");
    leaks.query("x=1");
    const lines = [auditLine({}), auditLine({ status: 100, latency_ms: 1 }), auditLine({ reason: "key_unknown", key_id: null, client_ip: "203.0.113.7" })];
    assert.deepEqual(leaks.scanLogs(lines.map((message) => ({ level: "log", message }))), []);
  });

  test("the IdP's key in a header the origin received is caught; the origin's own credential is not a finding", () => {
    const { leaks, secrets } = registry();
    const got = (headers) => [{ method: "GET", path: "/v2/Users?filter=userName%20eq%20%22a%22", headers }];
    assert.deepEqual(leaks.scanOriginHeaders(got([["authorization", secrets["origin credential"]], ["x-provgate-key-id", "key_2pfJhWnE8JdAvhhv"]])), []);
    const findings = leaks.scanOriginHeaders(got([["Authorization", `Bearer ${KEY}`]]));
    assert.deepEqual(findings, ['minted key in header "authorization" the origin received with GET /v2/Users']);
    assert.equal(leaks.scanOriginHeaders(got([["x-debug", secrets.pepper]])).length, 1, "nor any other secret");
  });

  test("a key in the URL the origin received is caught, in any case, without quoting the path", () => {
    const { leaks, secrets } = registry();
    for (const path of [`/v2/Users/${KEY}`, `/v2/${KEY.toLowerCase()}`, `/v2/Users?x=${KEY}`]) {
      const findings = leaks.scanOriginHeaders([{ method: "GET", path, headers: [["x-forwarded-host", "edge"], ["x-debug", KEY]] }]);
      assert.deepEqual(findings, ["minted key in the URL of a GET request the origin received", 'minted key in header "x-debug" the origin received with GET (path withheld)'], path);
      failure(findings, [...Object.values(secrets), path]);
    }
  });

  test("CLI output: the key line of a mint is the one place a key may show", () => {
    const { leaks, secrets } = registry();
    const minted = `key id: key_2pfJhWnE8JdAvhhv\nkey:    ${KEY}\n`;
    const { keys, rest } = withoutShownKeys(minted);
    assert.deepEqual(keys, [KEY]);
    assert.deepEqual(leaks.scanText(rest, "the output of provgate key mint"), []);
    const listed = withoutShownKeys(`KEY ID  LABEL\nkey_2pfJhWnE8JdAvhhv  ${KEY}\n`).rest;
    assert.deepEqual(leaks.scanText(listed, "the output of provgate key list"), ["minted key in the output of provgate key list"]);
    assert.deepEqual(leaks.scanText(`pepper id: ${secrets.pepper}`, "x"), ["pepper in x"]);
  });
});

describe("the harness's watch, on the real Worker", () => {
  test("console.log and console.error lines of the wasm both reach the scan", async () => {
    const origin = await startRecordingOrigin();
    const edge = await startEdge({ originUrl: origin.url, pepper: randomSecret() });
    const unset = await startEdge({ originUrl: origin.url, pepper: "" });
    try {
      const denied = await raw(`${edge.base}/Users`, { headers: { authorization: "Bearer garbage" } });
      await edge.auditFor(denied.headers["x-request-id"]);
      const broken = await raw(`${unset.base}/Users`);
      await unset.auditFor(broken.headers["x-request-id"]);
      assert.deepEqual(edge.logs.map((l) => l.level), ["log"]);
      assert.deepEqual(unset.logs.map((l) => l.level), ["error"], "misconfigured is logged at error level");
    } finally {
      await edge.stop();
      await unset.stop();
      await origin.stop();
    }
  });

  test("an edge whose logs hold a minted key fails when it stops, naming the kind and the line's reason", async () => {
    const pepper = randomSecret();
    const origin = await startRecordingOrigin();
    const edge = await startEdge({ originUrl: origin.url, pepper });
    try {
      const { key } = await mintKey(edge, pepper);
      const res = await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${key}` } });
      const line = await edge.auditFor(res.headers["x-request-id"]);
      // The product never logs a key; this test plants a line that does.
      edge.logs.push({ level: "log", message: JSON.stringify({ ...line, key }) });
      await assert.rejects(edge.stop(), (e) => {
        assert.match(e.message, new RegExp(`minted key in the log line of request ${line.request_id} \\(level log, reason forwarded\\)`));
        assert.ok(!e.message.includes(key));
        return true;
      });
    } finally {
      await origin.stop();
    }
  });

  test("an origin that received a minted key in its URL fails when it stops: recording origin and scim2-server", async () => {
    const key = (await mintKey(null, randomSecret())).key;
    const recording = await startRecordingOrigin();
    const scim = await startScimOrigin({ token: randomSecret() });
    for (const origin of [recording, scim]) {
      await raw(`${origin.url}/Users/${key.toLowerCase()}`);
      await assert.rejects(origin.stop(), (e) => {
        assert.match(e.message, /minted key in the URL of a GET request the origin received/);
        assert.ok(!e.message.toLowerCase().includes(key.toLowerCase()));
        return true;
      });
    }
  });

  test("an origin that received a minted key in a header fails when it stops: recording origin and scim2-server", async () => {
    const key = (await mintKey(null, randomSecret())).key;
    const recording = await startRecordingOrigin();
    const scim = await startScimOrigin({ token: randomSecret() });
    // Sent straight to each origin, as no edge would.
    for (const origin of [recording, scim]) {
      await raw(`${origin.url}/Users?filter=${encodeURIComponent('userName eq "leak@example.com"')}`, { headers: { "x-idp-key": key } });
      await assert.rejects(origin.stop(), (e) => {
        assert.match(e.message, /minted key in header "x-idp-key" the origin received with GET \/v2\/Users\n?/);
        assert.ok(!e.message.includes(key) && !e.message.includes("leak@example.com"));
        return true;
      });
    }
  });

  test("CLI output holding the pepper fails the run", async () => {
    const pepper = randomSecret();
    // A label is printed back in the record; this one is the pepper.
    await assert.rejects(runCli(["key", "mint", "--emit", "json", "--label", pepper], { PEPPER: pepper }), (e) => {
      assert.match(e.message, /pepper in the output of provgate key mint/);
      assert.ok(!e.message.includes(pepper));
      return true;
    });
    const clean = await runCli(["key", "mint", "--emit", "json", "--label", "clean"], { PEPPER: pepper });
    assert.equal(clean.status, 0, "the key line alone is not a finding");
  });
});
