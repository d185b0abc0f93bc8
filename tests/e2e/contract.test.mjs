// The management API's contract: docs/openapi.yaml is a valid OpenAPI 3.1
// document (openapi-spec-validator), and schemathesis (every check,
// bounded examples per operation, tests/contract/schemathesis.toml) finds
// no server error and no answer that departs from it, against a test edge
// (both Workers in workerd).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT, startEdge, startRecordingOrigin, randomSecret } from "./harness.mjs";

const VENV = path.join(ROOT, ".venv/bin");
const MAX_EXAMPLES = process.env.SCHEMATHESIS_MAX_EXAMPLES ?? "20";

function run(program, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(path.join(VENV, program), args, { cwd: ROOT, env: { ...process.env, ...env } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (status) => resolve({ status, out }));
  });
}

test("docs/openapi.yaml is a valid OpenAPI document", async () => {
  const { status, out } = await run("openapi-spec-validator", ["docs/openapi.yaml"]);
  assert.equal(status, 0, out);
});

test("schemathesis: every check passes against the edge", { timeout: 600_000 }, async () => {
  const rootToken = randomSecret() + randomSecret();
  const origin = await startRecordingOrigin();
  // Its probes send wrong and missing tokens on purpose: no throttling here.
  const edge = await startEdge({ originUrl: origin.url, pepper: randomSecret(), authFailureLimit: 1_000_000, vars: { ROOT_TOKEN: rootToken } });
  try {
    const { status, out } = await run(
      "schemathesis",
      [
        "--config-file", "tests/contract/schemathesis.toml",
        "run", "docs/openapi.yaml",
        "--url", `${edge.url}/_provgate/api/v1`,
        "--checks", "all",
        "--max-examples", MAX_EXAMPLES,
        // A static asset of the Workers runtime, not the API (tests/e2e/api.test.mjs checks it).
        "--exclude-operation-id", "getOpenApi",
        "--header", `Authorization: Bearer ${rootToken}`,
      ],
      // The hook works around a crash of schemathesis's own link inference (see the file).
      { SCHEMATHESIS_COLOR: "false", NO_COLOR: "1", SCHEMATHESIS_HOOKS: "tests/contract/hooks.py" },
    );
    for (const line of out.split("\n").filter((l) => /generated|failures? in|passed in/.test(l))) console.log(`schemathesis: ${line.trim()}`);
    assert.equal(status, 0, out.slice(-6000));
  } finally {
    await edge.stop();
    await origin.stop();
  }
});
