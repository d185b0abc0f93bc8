// Where provgate's time goes in workerd under load. Needs the profiling
// build (build/profiling: the wasm with its name section, entered through
// bench/profile-worker.mjs): `make profile` builds it, and provgate-control
// with its names (build/profiling-control, PROFILE_CONTROL_DIR, so that the
// guard's functions are named too), and runs this.
// Loopback only; every load run is bounded by wrk's -d.
//
// workerd runs every isolate of a Miniflare instance (the Worker, its
// Durable Objects, miniflare's entry worker, the KV simulator) on one
// thread, so on this machine req/s is bounded by that thread's CPU per
// request. Two passes:
//
// 1. Cost: passthrough, JavaScript peer, provgate (the release build/),
//    the JavaScript peer with one Durable Object call per request,
//    provgate without its guard and without its record cache each get
//    `seconds` of wrk; req/s, latency and the workerd thread's CPU time
//    (/proc) per request.
// 2. Phases: the profiling build gets `seconds` of wrk; the wall time of
//    each I/O phase, timed inside the isolate (bench/profile-worker.mjs).
// 3. Profile: V8's sampling profiler in every isolate of that workerd
//    over the Chrome DevTools Protocol during one more run: CPU by
//    isolate, by kind of code, by function.
//
// Further arguments add other build directories (e.g. an earlier commit's
// `make build` output) to the cost pass, for before/after ratios in one run.
//
//   node bench/profile.mjs [seconds=8] [connections=16] [build-dir ...]
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { trivialOrigin } from "./trivial-origin.mjs";
import { startJsWorker } from "./js-worker.mjs";
import { wrk } from "./wrk.mjs";
import { ROOT, startEdge, mintKey, randomSecret } from "../tests/e2e/harness.mjs";

const [seconds = 8, connections = 16] = process.argv.slice(2, 4).map(Number);
const otherBuilds = process.argv.slice(4).map((dir) => path.resolve(dir));
const OUT = path.join(ROOT, "build/profiling");
const SAMPLING_US = 250;
const WebSocket = globalThis.WebSocket ?? (await import("ws")).WebSocket;

const entry = path.join(OUT, "worker/shim.mjs");
if (!existsSync(entry) || !readFileSync(entry, "utf8").includes("__phases")) {
  console.error("no profiling build: run `make profile` (it builds build/profiling first)");
  process.exit(2);
}

// --- workerd's CPU time ----------------------------------------------------

const workerdChildren = () =>
  new Set(
    readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          const stat = readFileSync(`/proc/${p}/stat`, "utf8");
          return stat.includes("(workerd)") && Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === process.pid;
        } catch {
          return false;
        }
      }),
  );

/** Starts a Worker and returns it with the pid of the workerd it runs in. */
async function withPid(start) {
  const before = workerdChildren();
  const worker = await start();
  const pid = [...workerdChildren()].find((p) => !before.has(p));
  if (!pid) throw new Error("could not find the workerd process");
  return { ...worker, pid };
}

/** CPU seconds of workerd's main thread (the one that runs every isolate). */
function threadCpu(pid) {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

// --- the Chrome DevTools Protocol --------------------------------------------

async function devtools(url) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", reject, { once: true });
  });
  let next = 0;
  const waiting = new Map();
  ws.addEventListener("message", (event) => {
    const msg = JSON.parse(typeof event.data === "string" ? event.data : event.data.toString());
    const pending = waiting.get(msg.id);
    if (!pending) return;
    waiting.delete(msg.id);
    if (msg.error) pending.reject(new Error(msg.error.message));
    else pending.resolve(msg.result);
  });
  return {
    send(method, params = {}) {
      const id = ++next;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
    },
    close: () => ws.close(),
  };
}

/** Profiles every isolate of `edge`'s workerd (started with `inspector: true`) while `load()` runs. */
async function profiled(edge, load) {
  const inspector = await edge.mf.getInspectorURL();
  const targets = await (await fetch(`http://${inspector.host}/json/list`)).json();
  const sessions = [];
  for (const t of targets) {
    const session = await devtools(t.webSocketDebuggerUrl);
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: SAMPLING_US });
    sessions.push({ name: t.id, session });
  }
  for (const { session } of sessions) await session.send("Profiler.start");
  const result = await load();
  const profiles = {};
  for (const { name, session } of sessions) {
    profiles[name] = (await session.send("Profiler.stop")).profile;
    session.close();
  }
  return { result, profiles };
}

// --- reading a profile -------------------------------------------------------

const IDLE = new Set(["(idle)", "(program)", "(root)"]);

/**
 * Each sample's weight in µs. An isolate is only sampled while the thread
 * runs it: a long gap between two samples is time spent in other isolates,
 * so a weight is capped at four sampling intervals.
 */
function weights(profile) {
  return profile.samples.map((id, i) => [id, Math.min(profile.timeDeltas[i + 1] ?? SAMPLING_US, 4 * SAMPLING_US)]);
}

function busy(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  return weights(profile).reduce((sum, [id, us]) => sum + (IDLE.has(byId.get(id).callFrame.functionName) ? 0 : us), 0);
}

/** Drops Rust's symbol hash and wasm-bindgen's import hash. */
const tidy = (name) => name.replace(/::h[0-9a-f]{16}$/, "").replace(/^__wbg_(.*)_[0-9a-f]{16}$/, "$1");

/**
 * What a sample was doing: wasm by crate (provgate by module), or else
 * the Web API that the innermost wasm-bindgen import on its stack called
 * (its native work included), or other JavaScript and the runtime.
 */
function kindOf(byId, parent, leafId) {
  for (let at = leafId; at !== undefined; at = parent.get(at)) {
    const { url, functionName } = byId.get(at).callFrame;
    if (url.startsWith("wasm://")) {
      if (at !== leafId) break; // a wasm caller of JavaScript: the import decides below
      const name = tidy(functionName).replace(/^<+/, "");
      return name.startsWith("provgate::") ? `wasm: ${name.split("::").slice(0, 3).join("::")}` : `wasm: ${name.split("::")[0]}`;
    }
    if (url.endsWith("index.js") && functionName.startsWith("__wbg_")) return `Web API via glue: ${tidy(functionName)}`;
  }
  const leaf = byId.get(leafId).callFrame;
  if (leaf.functionName === "(garbage collector)") return "garbage collector";
  if (leaf.url.endsWith("index.js")) return "JS: wasm-bindgen glue";
  if (leaf.url.includes("profile-worker")) return "JS: the profiling wrapper";
  return `runtime: ${leaf.functionName || "(anonymous)"}`;
}

function tables(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const kinds = new Map();
  const functions = new Map();
  for (const [id, us] of weights(profile)) {
    const leaf = byId.get(id).callFrame;
    if (IDLE.has(leaf.functionName)) continue;
    const k = kindOf(byId, parent, id);
    kinds.set(k, (kinds.get(k) ?? 0) + us);
    const fn = leaf.url.startsWith("wasm://") ? tidy(leaf.functionName) : `${tidy(leaf.functionName) || "(anonymous)"} (${path.basename(leaf.url) || "native"})`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  return { kinds, functions };
}

function printTable(title, map, requests, limit = Infinity) {
  const total = [...map.values()].reduce((a, b) => a + b, 0);
  console.log(`\n${title}\n| | µs per request | share |\n|---|---|---|`);
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .forEach(([name, us]) => console.log(`| ${name.replaceAll("|", "\\|")} | ${(us / requests).toFixed(1)} | ${((100 * us) / total).toFixed(1)}% |`));
}

// --- the run -----------------------------------------------------------------

const pepper = randomSecret();
const token = randomSecret();
const origin = await trivialOrigin();
const quiet = { RATE_PER_MINUTE: "100000000", BURST: "100000000" };
// Every Worker's audit lines go to this process rather than to the terminal
// (the edges' are scanned for leaks when they stop; the peers' are dropped).
const discardLogs = { handleStructuredLogs: () => {} };
const common = { originUrl: origin.url, originAuthorization: `Bearer ${token}`, pepper };
const edge = await withPid(() => startEdge({ ...common, vars: quiet }));
// PROFILE_CONTROL_DIR: a build of provgate-control with its name section, so that the guard's functions are named too.
const profiling = await startEdge({ ...common, vars: quiet, buildDir: OUT, inspector: true, ...(process.env.PROFILE_CONTROL_DIR ? { controlDir: path.resolve(process.env.PROFILE_CONTROL_DIR) } : {}) });
const unguarded = await withPid(() => startEdge({ ...common, guard: false, vars: { RATE_LIMIT_FAILURE_MODE: "open" } }));
const uncached = await withPid(() => startEdge({ ...common, vars: { ...quiet, RECORD_CACHE_TTL_SECONDS: "0" } }));
const minted = await mintKey(edge, pepper, { scopes: "*" });
const others = [];
for (const buildDir of otherBuilds) others.push([`provgate, ${path.relative(ROOT, buildDir).startsWith("..") ? buildDir : path.relative(ROOT, buildDir)}`, await withPid(() => startEdge({ ...common, buildDir, vars: quiet }))]);
for (const other of [profiling, unguarded, uncached, ...others.map(([, w]) => w)]) await other.kv.put(minted.name, JSON.stringify(minted.record));
const kv = [[minted.name, JSON.stringify(minted.record)]];
const peer = await withPid(() => startJsWorker("js-verifier.js", { originUrl: origin.url, token, pepper, kv, miniflare: discardLogs }));
const peerDo = await withPid(() => startJsWorker("js-verifier-do.js", { originUrl: origin.url, token, pepper, kv, miniflare: discardLogs }));
const floor = await withPid(() => startJsWorker("passthrough.js", { originUrl: origin.url, token, pepper, kv, miniflare: discardLogs }));
const target = (w) => `${w.url}/scim/v2/Users?startIndex=1&count=2`;
const workers = [["passthrough", floor], ["JS peer", peer], ["JS peer + DO call", peerDo], ["provgate", edge], ["provgate without its guard", unguarded], ["provgate without its record cache", uncached]];
workers.push(...others);
const phasesOf = async (w) => (await fetch(`${w.url}/__phases`)).json();

for (const w of [...workers.map(([, w]) => w), profiling]) await wrk(target(w), minted.key, { seconds: 2, connections }); // warm-up, discarded

const cost = [];
for (const [name, w] of workers) {
  const cpu0 = threadCpu(w.pid);
  const r = await wrk(target(w), minted.key, { seconds, connections });
  cost.push({ name, ...r, cpuUs: ((threadCpu(w.pid) - cpu0) * 1e6) / r.requests });
}

const before = await phasesOf(profiling);
const timed = await wrk(target(profiling), minted.key, { seconds, connections });
const after = await phasesOf(profiling);
const handled = after.handler[1] - before.handler[1];
const phases = Object.keys(after).map((p) => [p, (after[p][0] - before[p][0]) / handled, (after[p][1] - before[p][1]) / handled]);

const run = await profiled(profiling, () => wrk(target(profiling), minted.key, { seconds, connections }));
mkdirSync(OUT, { recursive: true });
for (const [name, profile] of Object.entries(run.profiles)) {
  writeFileSync(path.join(OUT, `provgate.${name.replace(/[^a-z0-9]+/gi, "_")}.cpuprofile`), JSON.stringify(profile));
}

console.log(`wrk -t2 -c${connections} -d${seconds}s --latency, GET /scim/v2/Users?startIndex=1&count=2, one key, trivial origin`);
console.log("\nCost: workerd's thread CPU per request (/proc), no profiler\n| worker | req/s | p50 ms | p99 ms | workerd CPU µs/request | req/s vs passthrough |\n|---|---|---|---|---|---|");
for (const c of cost) {
  console.log(`| ${c.name} | ${c.rps.toFixed(0)} | ${c.p50.toFixed(2)} | ${c.p99.toFixed(2)} | ${c.cpuUs.toFixed(0)} | ${(c.rps / cost[0].rps).toFixed(2)}× |`);
}
console.log(`\nprovgate's I/O phases (profiling build, ${timed.rps.toFixed(0)} req/s, p50 ${timed.p50.toFixed(2)} ms): wall time timed inside the isolate (ms resolution, mean)\n| phase | ms per request | calls per request |\n|---|---|---|`);
for (const [p, ms, calls] of phases) console.log(`| ${p} | ${ms.toFixed(2)} | ${calls.toFixed(2)} |`);

const n = run.result.requests;
console.log(`\nProfile: V8 sampling every ${SAMPLING_US} µs in every isolate of provgate's workerd; ${run.result.rps.toFixed(0)} req/s under the profiler`);
const byIsolate = new Map(Object.entries(run.profiles).map(([name, p]) => [name, busy(p)]).filter(([, us]) => us > 0));
printTable("CPU by isolate", byIsolate, n);
// The edge's isolate and provgate-control's (where the guard runs).
for (const userIsolate of Object.keys(run.profiles).filter((name) => name.startsWith("core:user:"))) {
  const { kinds, functions } = tables(run.profiles[userIsolate]);
  printTable(`${userIsolate}: CPU by kind of code`, kinds, n, 30);
  printTable(`${userIsolate}: top functions by self time`, functions, n, 25);
}
console.log(`\nraw profiles (Chrome DevTools → Performance → Load profile): ${path.relative(ROOT, OUT)}/*.cpuprofile`);

for (const w of [...workers.map(([, w]) => w), profiling]) await w.stop();
await origin.stop();
