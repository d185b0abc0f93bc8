// `provgate doctor --edge`, the post-deploy check, with the real CLI against
// test edges: it passes for a healthy edge (scim2-server behind the example
// signature verifier) and fails, naming the fix, for each broken setup it
// claims to catch — the origin refusing the signature, the origin
// unreachable, a key that does not verify, the doctor page missing,
// discovery failing — and the key is never printed.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { once } from "node:events";
import { startEdge, startScimOrigin, mintKey, randomSecret, runCli, SIGNING_SECRET } from "./harness.mjs";

const pepper = randomSecret();
const root = randomSecret() + randomSecret();
const originToken = randomSecret();

/** The doctor's lines by check: { discovery: "PASS  discovery …\n  fix: …", … }. */
function byCheck(stdout) {
  const checks = {};
  let last;
  for (const line of stdout.split("\n")) {
    const m = line.match(/^(PASS|FAIL|SKIP)  (\S+(?: page)?)/);
    if (m) checks[(last = m[2])] = line;
    else if (last && /^\s+fix: /.test(line)) checks[last] += `\n${line}`;
  }
  return checks;
}

/** A loopback port nothing listens on. */
async function closedPort() {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

describe("provgate doctor --edge", { timeout: 240_000 }, () => {
  let origin, edge, key;
  const doctor = (target, env = {}, args = []) => runCli(["doctor", "--edge", target.url, ...args], env);
  const start = (opts = {}) => startEdge({ originUrl: origin.url, originAuthorization: `Bearer ${originToken}`, pepper, assets: true, vars: { ROOT_TOKEN: root }, ...opts });

  before(async () => {
    origin = await startScimOrigin({ token: originToken, signingSecrets: [SIGNING_SECRET] });
    edge = await start();
    const minted = await runCli(["key", "mint", "--label", "doctor", "--scopes", "users:read", "--json"], { PROVGATE_EDGE_URL: edge.url, PROVGATE_TOKEN: root });
    assert.equal(minted.status, 0, minted.out);
    key = minted.json().key;
  });
  after(async () => {
    await edge?.stop();
    await origin?.stop();
  });

  test("a healthy edge passes every check, and the key is never printed", async () => {
    const r = await doctor(edge, { PROVGATE_KEY: key, PROVGATE_TOKEN: root });
    assert.equal(r.status, 0, r.out);
    const checks = byCheck(r.stdout);
    for (const name of ["discovery", "doctor page", "key", "origin"]) assert.match(checks[name] ?? "", /^PASS/, `${name}:\n${r.stdout}`);
    assert.match(checks.https, /^SKIP .*loopback/, "HTTPS is not checked on a loopback dev edge");
    assert.match(checks.origin, /accepted a signed forward \(HTTP 200\)/);
    assert.match(r.stdout, /^4 passed, 0 failed, 1 skipped$/m);
    assert.ok(!r.out.includes(key));
    const audit = edge.auditLines().filter((l) => l.action === "diagnostics.origin");
    assert.ok(audit.length >= 1 && audit.every((l) => l.actor === "root" && l.reason === "api_ok"), "one audit line per diagnostic");

    const json = await doctor(edge, { PROVGATE_KEY: key, PROVGATE_TOKEN: root }, ["--json"]);
    assert.equal(json.status, 0, json.out);
    const doc = json.json();
    assert.equal(doc.ok, true);
    assert.deepEqual(doc.checks.map((c) => [c.check, c.result]), [["discovery", "pass"], ["https", "skip"], ["doctor page", "pass"], ["key", "pass"], ["origin", "pass"]]);
  });

  test("without a key or a token those checks are skipped with how to run them", async () => {
    const r = await doctor(edge);
    assert.equal(r.status, 0, r.out);
    const checks = byCheck(r.stdout);
    assert.match(checks.key, /^SKIP .*PROVGATE_KEY/);
    assert.match(checks.origin, /^SKIP .*PROVGATE_TOKEN/);
  });

  test("the origin refusing the edge's signature fails, with the signing secret to fix", async () => {
    const strict = await startScimOrigin({ token: originToken, signingSecrets: [randomSecret()] });
    const broken = await startEdge({ originUrl: strict.url, originAuthorization: `Bearer ${originToken}`, pepper, assets: true, vars: { ROOT_TOKEN: root } });
    try {
      const r = await doctor(broken, { PROVGATE_TOKEN: root });
      assert.equal(r.status, 1, r.out);
      const checks = byCheck(r.stdout);
      assert.match(checks.origin, /^FAIL .*refused the edge's signed request \(HTTP 401\)[\s\S]*fix: .*ORIGIN_SIGNING_SECRET/);
      assert.match(checks.discovery, /^FAIL .*502/, "discovery is forwarded and refused too");
      assert.match(r.stderr, /check(s)? failed/);
    } finally {
      await broken.stop();
      await strict.stop();
    }
  });

  test("an unreachable origin fails, with ORIGIN_URL to check", async () => {
    const broken = await startEdge({ originUrl: `http://127.0.0.1:${await closedPort()}/v2`, pepper, assets: true, vars: { ROOT_TOKEN: root } });
    try {
      const r = await doctor(broken, { PROVGATE_TOKEN: root }, ["--json"]);
      assert.equal(r.status, 1, r.out);
      const origin = r.json().checks.find((c) => c.check === "origin");
      assert.equal(origin.result, "fail");
      assert.match(origin.detail, /cannot reach its origin/);
      assert.match(origin.fix, /ORIGIN_URL/);
      assert.equal(r.json().checks.find((c) => c.check === "discovery").result, "fail");
    } finally {
      await broken.stop();
    }
  });

  test("a key that does not verify fails with why: unknown, revoked, a typo", async () => {
    const unknown = (await mintKey(null, pepper)).key;
    const r = await doctor(edge, { PROVGATE_KEY: unknown });
    assert.equal(r.status, 1, r.out);
    assert.match(byCheck(r.stdout).key, /^FAIL .*does not verify \(unknown\)[\s\S]*fix: .*another pepper.*a minute/);

    const revoked = await runCli(["key", "mint", "--label", "revoked", "--scopes", "users:read", "--json"], { PROVGATE_EDGE_URL: edge.url, PROVGATE_TOKEN: root });
    const { key_id: id, key: revokedKey } = revoked.json();
    assert.equal((await runCli(["key", "revoke", id, "--yes"], { PROVGATE_EDGE_URL: edge.url, PROVGATE_TOKEN: root })).status, 0);
    assert.match(byCheck((await doctor(edge, { PROVGATE_KEY: revokedKey })).stdout).key, /^FAIL .*\(revoked\)[\s\S]*fix: .*mint a new one/);

    const typo = key.slice(0, 10) + (key[10] === "a" ? "b" : "a") + key.slice(11);
    const t = await doctor(edge, { PROVGATE_KEY: typo });
    assert.equal(t.status, 1);
    assert.match(byCheck(t.stdout).key, /^FAIL .*typo/);
    assert.ok(!t.out.includes(typo), "not even a mistyped key is printed");
  });

  test("a missing doctor page fails, with the [assets] setting to fix", async () => {
    const bare = await start({ assets: false });
    try {
      const r = await doctor(bare);
      assert.equal(r.status, 1, r.out);
      assert.match(byCheck(r.stdout)["doctor page"], /^FAIL .*404[\s\S]*fix: .*\[assets\]/);
    } finally {
      await bare.stop();
    }
  });

  test("discovery failing fails, with the base path to check", async () => {
    const r = await doctor(edge, {}, ["--scim-base", "/scim/v3"]);
    assert.equal(r.status, 1, r.out);
    assert.match(byCheck(r.stdout).discovery, /^FAIL .*\/scim\/v3\/ServiceProviderConfig answered 404[\s\S]*fix: .*SCIM_BASE_PATH/);
  });

  test("the origin check needs a token with usage:read, and says so", async () => {
    const minted = await runCli(["token", "mint", "--label", "reader", "--scopes", "keys:read", "--json"], { PROVGATE_EDGE_URL: edge.url, PROVGATE_TOKEN: root });
    assert.equal(minted.status, 0, minted.out);
    const r = await doctor(edge, { PROVGATE_TOKEN: minted.json().token });
    assert.equal(r.status, 1, r.out);
    assert.match(byCheck(r.stdout).origin, /^FAIL .*usage:read.*\[403 forbidden[\s\S]*fix: .*--scopes usage:read/);
  });
});
