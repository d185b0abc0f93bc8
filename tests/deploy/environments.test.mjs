// The deploy configuration: `wrangler deploy --dry-run` of the top level (the
// local one), staging and production passes, and what wrangler would upload
// (the metadata part of its upload form, written by --outfile: wrangler's own
// JSON, not its printed table) has every binding the Worker needs, every
// top-level [vars] entry, and the logging settings; each environment's
// account-wide ids are its own. What is not uploaded with the script
// (workers.dev, preview URLs, the name) is read with wrangler's own config
// resolution. No Cloudflare account is needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_readConfig } from "wrangler";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const OUT = path.join(ROOT, "build/dry-run");
const WRANGLER = path.join(ROOT, "node_modules/.bin/wrangler");
const ENVIRONMENTS = ["", "staging", "production"];

/** The multipart form wrangler would upload: its `metadata` part, and the names of the other parts. */
async function dryRun(env) {
  const name = env || "top-level";
  const outfile = path.join(OUT, `${name}.form`);
  rmSync(outfile, { force: true });
  mkdirSync(OUT, { recursive: true });
  const run = spawnSync(WRANGLER, ["deploy", "--dry-run", `--env=${env}`, "--outdir", path.join(OUT, name), "--outfile", outfile], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    timeout: 300_000,
  });
  assert.equal(run.status, 0, `wrangler deploy --dry-run --env=${env} failed:\n${run.stdout}\n${run.stderr}`);
  assert.ok(existsSync(outfile), "wrangler wrote its upload form");
  const bytes = readFileSync(outfile);
  const boundary = bytes.subarray(2, bytes.indexOf("\r\n")).toString();
  const form = await new Response(bytes, { headers: { "content-type": `multipart/form-data; boundary=${boundary}` } }).formData();
  return { metadata: JSON.parse(form.get("metadata")), parts: [...form.keys()] };
}

const uploads = {};
const configs = {};
const upload = async (env) => (uploads[env] ??= await dryRun(env));
const config = (env) => (configs[env] ??= unstable_readConfig({ config: path.join(ROOT, "wrangler.toml"), env: env || undefined }, { hideWarnings: true }));
const binding = (metadata, type, name) => metadata.bindings.find((b) => b.type === type && b.name === name);
const varNames = (metadata) => metadata.bindings.filter((b) => b.type === "plain_text").map((b) => b.name).sort();
const bindingNames = (metadata) => metadata.bindings.filter((b) => b.type !== "plain_text").map((b) => `${b.type} ${b.name}`).sort();

for (const env of ENVIRONMENTS) {
  test(`wrangler deploy --dry-run --env=${env || '""'}: the bundle and every binding the Worker reads`, { timeout: 300_000 }, async () => {
    const { metadata, parts } = await upload(env);
    assert.equal(metadata.main_module, "shim.js");
    assert.ok(parts.includes("shim.js") && parts.some((p) => p.endsWith("index_bg.wasm")), `parts: ${parts}`);
    assert.ok(binding(metadata, "kv_namespace", "KEYS")?.namespace_id, "KEYS");
    assert.equal(binding(metadata, "durable_object_namespace", "KEY_GUARD")?.class_name, "KeyGuard");
    assert.deepEqual(binding(metadata, "ratelimit", "AUTH_FAILURES")?.simple, { limit: 100, period: 60 });
    assert.deepEqual(binding(metadata, "ratelimit", "DISCOVERY_LIMIT")?.simple, { limit: 60, period: 60 });
    // Audit lines kept; invocation logs and traces (which record URLs, and SCIM filters carry personal data) off.
    assert.deepEqual(metadata.observability, { enabled: true, logs: { invocation_logs: false }, traces: { enabled: false } });
    assert.ok(!metadata.bindings.some((b) => b.type === "secret_text"), "no secret in the configuration");
  });
}

for (const env of ["staging", "production"]) {
  test(`${env} repeats every top-level [vars] entry and has its own account-wide ids`, { timeout: 300_000 }, async () => {
    const top = (await upload("")).metadata;
    const own = (await upload(env)).metadata;
    assert.deepEqual(varNames(own), varNames(top), `[env.${env}.vars] must repeat every [vars] entry (vars are not inherited)`);
    assert.ok(varNames(top).length >= 15, `parsed ${varNames(top)}`);
    assert.deepEqual(bindingNames(own), bindingNames(top), `[env.${env}] must repeat every binding (bindings are not inherited)`);
    for (const other of ENVIRONMENTS.filter((e) => e !== env)) {
      const theirs = (await upload(other)).metadata;
      const ids = (m) => m.bindings.filter((b) => b.type === "ratelimit").map((b) => b.namespace_id);
      for (const id of ids(own)) assert.ok(!ids(theirs).includes(id), `${env} and ${other || "the top level"} share the rate-limit namespace ${id}`);
      assert.notEqual(binding(own, "kv_namespace", "KEYS").namespace_id, binding(theirs, "kv_namespace", "KEYS").namespace_id, `${env} and ${other || "the top level"} share a KV namespace`);
    }
  });
}

test("served on custom domains only, with the guard's migration, in every environment", () => {
  for (const env of ENVIRONMENTS) {
    const c = config(env);
    assert.equal(c.workers_dev, false, `${env}: workers.dev must be off`);
    assert.equal(c.preview_urls, false, `${env}: preview URLs must be off`);
    assert.equal(c.name, env ? `provgate-${env}` : "provgate");
    assert.deepEqual(c.migrations.flatMap((m) => m.new_sqlite_classes ?? []), ["KeyGuard"]);
    assert.equal(c.assets?.directory, "www");
    assert.deepEqual(c.observability, { enabled: true, logs: { invocation_logs: false }, traces: { enabled: false } });
  }
});
