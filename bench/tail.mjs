// The tail a per-key guard adds, side by side in one run: wrk against a
// passthrough, the JavaScript verifier without and with one Durable Object
// call per request (bench/peers), provgate (build/, plus any other build
// directories given; `control:DIR` for another build of provgate-control), at 1 and at 16 connections, trivial origin, rounds
// interleaved; the median of the rounds per Worker, and what each adds over
// the passthrough. Prints the load average: the machine is shared.
//
// TAIL_VARS (JSON) adds settings to every provgate; TAIL_VARIANTS (JSON:
// name → settings) adds provgates with other settings; TAIL_JS_GUARD=1 adds
// provgate's edge with bench/peers/js-keyguard.js as its guard.
//
//   node bench/tail.mjs [seconds=5] [rounds=3] [build-dir ...]
import { loadavg } from "node:os";
import path from "node:path";
import { trivialOrigin } from "./trivial-origin.mjs";
import { startJsWorker } from "./js-worker.mjs";
import { wrk } from "./wrk.mjs";
import { ROOT, startEdge, mintKey, randomSecret } from "../tests/e2e/harness.mjs";

const [seconds = 5, rounds = 3] = process.argv.slice(2, 4).map(Number);
// `control:DIR` pairs build/ with another build of provgate-control.
const otherBuilds = process.argv.slice(4);
const pepper = randomSecret();
const token = randomSecret();
const origin = await trivialOrigin();
const quiet = { RATE_PER_MINUTE: "100000000", BURST: "100000000" };
const extraVars = JSON.parse(process.env.TAIL_VARS ?? "{}");
const common = { originUrl: origin.url, originAuthorization: `Bearer ${token}`, pepper, captureLogs: false };
const edge = await startEdge({ ...common, vars: { ...quiet, ...extraVars } });
const minted = await mintKey(edge, pepper, { scopes: "*" });
const kv = [[minted.name, JSON.stringify(minted.record)]];
const discardLogs = { handleStructuredLogs: () => {} };
const workers = [
  ["passthrough", await startJsWorker("passthrough.js", { originUrl: origin.url, token, pepper, kv, miniflare: discardLogs })],
  ["JS verifier", await startJsWorker("js-verifier.js", { originUrl: origin.url, token, pepper, kv, miniflare: discardLogs })],
  ["JS verifier + DO call", await startJsWorker("js-verifier-do.js", { originUrl: origin.url, token, pepper, kv, miniflare: discardLogs })],
  ["provgate", edge],
];
for (const arg of otherBuilds) {
  const dir = path.resolve(arg.replace(/^control:/, ""));
  const build = arg.startsWith("control:") ? { controlDir: dir } : { buildDir: dir };
  const other = await startEdge({ ...common, ...build, vars: { ...quiet, ...extraVars } });
  // Its own key, minted with every entry (the first edge's key's `id:` entry is not in its KV);
  // TAIL_HANDWRITTEN=1: the first edge's key as a record alone, as written by hand.
  if (process.env.TAIL_HANDWRITTEN) await other.kv.put(minted.name, JSON.stringify(minted.record));
  else other.key = (await mintKey(other, pepper, { scopes: "*" })).key;
  workers.push([`provgate, ${arg.startsWith("control:") ? "control " : ""}${path.relative(ROOT, dir)}`, other]);
}
for (const [name, vars] of Object.entries(JSON.parse(process.env.TAIL_VARIANTS ?? "{}"))) {
  const other = await startEdge({ ...common, vars: { ...quiet, ...vars } });
  other.key = (await mintKey(other, pepper, { scopes: "*" })).key;
  workers.push([`provgate, ${name}`, other]);
}
// provgate's edge with a JavaScript stand-in for its guard (TAIL_JS_GUARD=1):
// the edge's side of the call without the wasm guard's.
if (process.env.TAIL_JS_GUARD) {
  const jsGuard = { name: "jsguard", scriptPath: path.join(ROOT, "bench/peers/js-keyguard.js"), modules: true, compatibilityDate: "2026-04-01", durableObjects: { KEY_GUARD: "KeyGuard" } };
  const other = await startEdge({ ...common, vars: { ...quiet, ...extraVars }, standIns: { bindings: { durableObjects: { KEY_GUARD: { className: "KeyGuard", scriptName: "jsguard" } } }, workers: [jsGuard] } });
  await other.kv.put(minted.name, JSON.stringify(minted.record));
  other.key = (await mintKey(other, pepper, { scopes: "*" })).key;
  workers.push(["provgate, JS stand-in guard", other]);
}
// And without a guard at all (TAIL_UNGUARDED=1): what the call costs in all.
if (process.env.TAIL_UNGUARDED) {
  const other = await startEdge({ ...common, guard: false, vars: { ...extraVars, RATE_LIMIT_FAILURE_MODE: "open" } });
  other.key = (await mintKey(other, pepper, { scopes: "*" })).key;
  workers.push(["provgate without its guard", other]);
}
const target = (w) => `${w.base}/Users?startIndex=1&count=2`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const load = [loadavg()[0]];
for (const [, w] of workers) await wrk(target(w), w.key ?? minted.key, { seconds: 2, connections: 4 }); // warm-up, discarded
const results = {};
for (const connections of [1, 16]) {
  const runs = Object.fromEntries(workers.map(([name]) => [name, []]));
  for (let i = 0; i < rounds; i++) for (const [name, w] of workers) runs[name].push(await wrk(target(w), w.key ?? minted.key, { seconds, connections }));
  load.push(loadavg()[0]);
  results[connections] = Object.fromEntries(
    Object.entries(runs).map(([name, rs]) => [name, { rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), non2xx: rs.reduce((n, r) => n + r.non2xx, 0) }]),
  );
}

const signed = (ms) => `${ms >= 0 ? "+" : ""}${ms.toFixed(2)}`;
console.log(`wrk -t2 -d${seconds}s, ${rounds} interleaved rounds (median), GET /scim/v2/Users, one key, trivial origin; load average ${load.map((l) => l.toFixed(2)).join(" → ")}`);
for (const [connections, row] of Object.entries(results)) {
  const floor = row.passthrough;
  const js = row["JS verifier"];
  console.log(`\n${connections} connection${connections === "1" ? "" : "s"}\n| worker | req/s | p50 ms | p99 ms | p50 added | p99 added | req/s vs JS verifier | vs passthrough | non-2xx |\n|---|---|---|---|---|---|---|---|---|`);
  for (const [name, r] of Object.entries(row)) {
    console.log(`| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${signed(r.p50 - floor.p50)} | ${signed(r.p99 - floor.p99)} | ${(r.rps / js.rps).toFixed(2)}× | ${(r.rps / floor.rps).toFixed(2)}× | ${r.non2xx} |`);
  }
}
for (const [, w] of workers) await w.stop();
await origin.stop();
