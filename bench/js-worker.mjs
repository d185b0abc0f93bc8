// A JavaScript Worker of bench/peers/ in workerd (miniflare), its KEYS
// namespace seeded with `kv` ([name, value] pairs): the load runs' floor
// and peers. js-verifier-do.js gets its guard, js-guard.js, as a second
// Worker (as provgate's guard lives in provgate-control).
import { Miniflare } from "miniflare";
import path from "node:path";
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { ROOT, wasmWorker } from "../tests/e2e/harness.mjs";

const peer = (file) => path.join(ROOT, "bench/peers", file);

export async function startJsWorker(file, { originUrl, token, pepper, kv = [], miniflare = {}, bindings = {} }) {
  const withGuard = file === "js-verifier-do.js";
  const main = {
    name: "peer",
    scriptPath: peer(file),
    modules: true,
    // js-verifier-do.js imports js-verifier.js.
    modulesRoot: peer(""),
    modulesRules: [{ type: "ESModule", include: ["**/*.js"] }],
    compatibilityDate: "2026-04-01",
    kvNamespaces: { KEYS: "REPLACE_WITH_KV_NAMESPACE_ID" },
    bindings: { ORIGIN_URL: originUrl, ORIGIN_AUTHORIZATION: `Bearer ${token}`, PEPPER: pepper, ...bindings },
    ...(withGuard ? { durableObjects: { GUARD: { className: "Guard", scriptName: "guard" } } } : {}),
  };
  const guard = { name: "guard", scriptPath: peer("js-guard.js"), modules: true, compatibilityDate: "2026-04-01", durableObjects: { GUARD: "Guard" } };
  const mf = new Miniflare({ host: "127.0.0.1", port: 0, cf: false, workers: withGuard ? [main, guard] : [main], ...miniflare });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const store = await mf.getKVNamespace("KEYS");
  for (const [k, v] of kv) await store.put(k, v);
  return { url, base: `${url}/scim/v2`, mf, stop: () => mf.dispose() };
}

/** The same verifier in Rust with workers-rs (bench/peers/rust-verifier), built on first use. */
export async function startRustPeer({ originUrl, token, pepper, kv = [], miniflare = {} }) {
  const dir = peer("rust-verifier");
  const buildDir = path.join(dir, "build");
  if (!existsSync(path.join(buildDir, "worker/shim.mjs"))) {
    execFileSync("worker-build", ["--release"], { cwd: dir, stdio: "inherit", env: { ...process.env, WASM_BINDGEN_BIN: `${process.env.HOME}/.cargo/bin/wasm-bindgen`, WASM_OPT_BIN: path.join(ROOT, "node_modules/.bin/wasm-opt") } });
  }
  const main = {
    ...wasmWorker("peer", buildDir),
    kvNamespaces: { KEYS: "REPLACE_WITH_KV_NAMESPACE_ID" },
    bindings: { ORIGIN_URL: originUrl, ORIGIN_AUTHORIZATION: `Bearer ${token}`, PEPPER: pepper },
  };
  const mf = new Miniflare({ host: "127.0.0.1", port: 0, cf: false, workers: [main], ...miniflare });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const store = await mf.getKVNamespace("KEYS");
  for (const [k, v] of kv) await store.put(k, v);
  return { url, base: `${url}/scim/v2`, mf, stop: () => mf.dispose() };
}
