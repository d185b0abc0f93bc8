// Time from a fresh isolate (a new workerd via miniflare) to the first
// verified, forwarded response, and what the next requests on that isolate
// cost: provgate (with its record cache, and with RECORD_CACHE_TTL_SECONDS=0)
// against the JavaScript peer, without and with one Durable Object call. Bounded: `rounds` starts of each, `warm`
// sequential requests after the first.
//
// STARTUP_SPLIT=1 adds provgate with a JavaScript stand-in guard and
// without a guard. Further arguments add other builds of the edge (directories, e.g. an
// earlier commit's build/), started the same way, interleaved.
//
//   node bench/startup.mjs [rounds=5] [warm=20] [build-dir ...]
import { trivialOrigin } from "./trivial-origin.mjs";
import { startJsWorker, startRustPeer } from "./js-worker.mjs";
import { startEdge, mintKey, raw, randomSecret, wasmWorker } from "../tests/e2e/harness.mjs";

import path from "node:path";
import { ROOT } from "../tests/e2e/harness.mjs";

const [rounds = 5, warm = 20] = process.argv.slice(2, 4).map(Number);
// `control:DIR` pairs build/ with another build of provgate-control;
// `single:DIR` is an edge built before provgate-control existed (its
// KeyGuard in its own Worker).
const otherBuilds = process.argv.slice(4);
const pepper = randomSecret();
const origin = await trivialOrigin();
const originUrl = origin.url;
const minted = await mintKey(null, pepper);
const kv = [[minted.name, JSON.stringify(minted.record)]];

/** Starts a Worker, then times its first request and the `warm` after it. */
async function measure(start) {
  const t0 = performance.now();
  const worker = await start();
  const ready = performance.now() - t0;
  const times = [];
  for (let i = 0; i <= warm; i++) {
    const t1 = performance.now();
    const res = await raw(`${worker.base}/Users`, { headers: { authorization: `Bearer ${minted.key}` } });
    times.push(performance.now() - t1);
    if (res.status !== 200) throw new Error(`answered ${res.status}`);
  }
  await worker.stop();
  return { ready, first: times[0], warm: median(times.slice(1)) };
}

async function provgate(vars = {}, arg) {
  const dir = arg && path.resolve(arg.replace(/^(control|single|guard):/, ""));
  if (arg?.startsWith("guard:")) {
    // The edge with its guard in a Worker of its own (a build with the crate's `guard` feature).
    const guardWorker = { ...wasmWorker("guardw", dir), durableObjects: { KEY_GUARD: "KeyGuard" } };
    const edge = await startEdge({ originUrl, pepper, captureLogs: false, vars, standIns: { bindings: { durableObjects: { KEY_GUARD: { className: "KeyGuard", scriptName: "guardw" } } }, workers: [guardWorker] } });
    for (const [k, v] of kv) await edge.kv.put(k, v);
    return edge;
  }
  const own = { standIns: { bindings: { durableObjects: { KEY_GUARD: "KeyGuard" } } } };
  const build = !arg ? {} : arg.startsWith("control:") ? { controlDir: dir } : arg.startsWith("single:") ? { buildDir: dir, ...own } : { buildDir: dir };
  const edge = await startEdge({ originUrl, pepper, captureLogs: false, vars, ...build });
  for (const [k, v] of kv) await edge.kv.put(k, v);
  return edge;
}

// The peers' audit lines are dropped rather than printed (provgate's: captureLogs false).
const quiet = { handleStructuredLogs: () => {} };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const contenders = {
  provgate: () => provgate(),
  "provgate, cache off": () => provgate({ RECORD_CACHE_TTL_SECONDS: "0" }),
  "JS peer": () => startJsWorker("js-verifier.js", { originUrl, token: "x", pepper, kv, miniflare: quiet }),
  "JS peer + DO call": () => startJsWorker("js-verifier-do.js", { originUrl, token: "x", pepper, kv, miniflare: quiet }),
  // The same, its guard reading a revocation flag from storage on its first call.
  "JS peer + DO + storage": () => startJsWorker("js-verifier-do.js", { originUrl, token: "x", pepper, kv, miniflare: quiet, bindings: { DURABLE: "1" } }),
  // The floor of a Rust Worker: the JS peer's verifier with workers-rs.
  "Rust peer": () => startRustPeer({ originUrl, token: "x", pepper, kv, miniflare: quiet }),
  ...Object.fromEntries(otherBuilds.map((arg) => [`provgate, ${arg}`, () => provgate({}, arg)])),
};
// Where the first response goes: the same edge with a JavaScript stand-in
// for its guard (bench/peers/js-keyguard.js), and without a guard.
if (process.env.STARTUP_SPLIT) {
  const jsGuard = { name: "jsguard", scriptPath: path.join(ROOT, "bench/peers/js-keyguard.js"), modules: true, compatibilityDate: "2026-04-01", durableObjects: { KEY_GUARD: "KeyGuard" } };
  contenders["provgate, JS stand-in guard"] = async () => {
    const edge = await startEdge({ originUrl, pepper, captureLogs: false, standIns: { bindings: { durableObjects: { KEY_GUARD: { className: "KeyGuard", scriptName: "jsguard" } } }, workers: [jsGuard] } });
    for (const [k, v] of kv) await edge.kv.put(k, v);
    return edge;
  };
  contenders["provgate without its guard"] = async () => {
    const edge = await startEdge({ originUrl, pepper, captureLogs: false, guard: false, vars: { RATE_LIMIT_FAILURE_MODE: "open" } });
    for (const [k, v] of kv) await edge.kv.put(k, v);
    return edge;
  };
}
const runs = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
for (let i = 0; i < rounds; i++) for (const [name, start] of Object.entries(contenders)) runs[name].push(await measure(start));

console.log(`start-up, median of ${rounds}: workerd ready, the first verified request on the fresh isolate, then the median of ${warm} more`);
const m = Object.fromEntries(Object.entries(runs).map(([name, xs]) => [name, { ready: median(xs.map((x) => x.ready)), first: median(xs.map((x) => x.first)), warm: median(xs.map((x) => x.warm)) }]));
for (const [name, x] of Object.entries(m)) {
  console.log(`  ${name.padEnd(20)} ${(x.first / m["JS peer"].first).toFixed(2)}× the JS peer's first response; ready ${x.ready.toFixed(0)} ms, first response ${x.first.toFixed(1)} ms, next ${x.warm.toFixed(2)} ms`);
}
console.log(`  first verified response: provgate ${(m.provgate.first / m["JS peer"].first).toFixed(2)}× the JavaScript peer, ${(m.provgate.first / m["JS peer + DO call"].first).toFixed(2)}× the peer with a DO call`);
console.log(`  next requests: provgate ${(m.provgate.warm / m["JS peer"].warm).toFixed(2)}× the peer; with the record cache ${(m.provgate.warm / m["provgate, cache off"].warm).toFixed(2)}× the time without it`);
await origin.stop();
