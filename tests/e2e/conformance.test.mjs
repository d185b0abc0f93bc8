// Differential conformance: the third-party suite scim2-tester runs once
// against the origin directly, once through the edge with a bearer key and
// once through the edge with an OAuth access token from the client
// credentials grant (each against a fresh origin); every check must get
// the same verdict every way.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT, startEdge, startScimOrigin, mintKey, randomSecret, SIGNING_SECRET } from "./harness.mjs";
import { basic, tokenRequest } from "./oauth.mjs";

const SCIM2 = path.join(ROOT, ".venv/bin/scim2");

/** Runs `scim2 test` and returns its verdicts as sorted "STATUS check" lines. */
function runTester(url, authorization) {
  return new Promise((resolve, reject) => {
    const proc = spawn(SCIM2, ["--url", url, "test"], {
      env: { ...process.env, SCIM_CLI_HEADERS: `Authorization: ${authorization}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => proc.kill("SIGKILL"), 120_000);
    proc.on("error", reject);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      const verdicts = out
        .split("\n")
        .filter((l) => /^[A-Z]+ \S+$/.test(l))
        .sort();
      resolve({ code, verdicts, out });
    });
  });
}

test("scim2-tester gives the same verdict for every check through the edge as against the origin", { timeout: 300_000 }, async () => {
  const pepper = randomSecret();
  const token = randomSecret();
  const direct = await startScimOrigin({ token });
  // Behind the edge, the origin also verifies the edge's signature on every request of the suite.
  const behind = await startScimOrigin({ token, signingSecrets: [SIGNING_SECRET] });
  const third = await startScimOrigin({ token, signingSecrets: [SIGNING_SECRET] });
  const edge = await startEdge({ originUrl: behind.url, originAuthorization: `Bearer ${token}`, pepper });
  try {
    // The suite sends ~800 requests in seconds: a key quota above that keeps it from being throttled
    // (throttling is tested on its own in ratelimit.test.mjs).
    const { key } = await mintKey(edge, pepper, { scopes: "*", edit: (r) => ({ ...r, rate_per_minute: 1_000_000, burst: 10_000 }) });
    const a = await runTester(direct.url, `Bearer ${token}`);
    const b = await runTester(edge.base, `Bearer ${key}`);
    assert.ok(a.verdicts.length >= 100, `the suite ran (${a.verdicts.length} checks):\n${a.out}`);
    assert.deepEqual(b.verdicts, a.verdicts, `verdicts differ through the edge:\n${b.out}`);
    assert.equal(b.code, a.code);
    assert.ok(!behind.stderr().includes("rejected"), `the verifier rejected a forwarded request:\n${behind.stderr()}`);
    const failing = a.verdicts.filter((v) => !v.startsWith("SUCCESS")).length;
    console.log(`# scim2-tester: ${a.verdicts.length} checks, ${failing} not SUCCESS, identical through the edge`);

    // The same suite with an access token (client credentials), as Entra ID sends it.
    const oauthEdge = await startEdge({ originUrl: third.url, originAuthorization: `Bearer ${token}`, pepper, vars: { TOKEN_SIGNING_SECRET: randomSecret() } });
    try {
      const client = await mintKey(oauthEdge, pepper, { scopes: "*", edit: (r) => ({ ...r, auth_modes: ["client_credentials"], rate_per_minute: 1_000_000, burst: 10_000 }) });
      const issued = await tokenRequest(oauthEdge, { body: "grant_type=client_credentials", headers: { authorization: basic(client.keyId, client.key) } });
      assert.equal(issued.status, 200, issued.text);
      const c = await runTester(oauthEdge.base, `Bearer ${issued.json().access_token}`);
      assert.deepEqual(c.verdicts, a.verdicts, `verdicts differ through the edge with an access token:\n${c.out}`);
      assert.equal(c.code, a.code);
      const lines = oauthEdge.auditLines().filter((l) => l.reason === "forwarded");
      assert.ok(lines.length >= 100 && lines.every((l) => l.credential === "access_token"), "every forwarded request was the token's");
      console.log(`# scim2-tester with a client-credentials token: ${c.verdicts.length} checks, identical`);
    } finally {
      await oauthEdge.stop();
    }
  } finally {
    await edge.stop();
    await direct.stop();
    await behind.stop();
    await third.stop();
  }
});
