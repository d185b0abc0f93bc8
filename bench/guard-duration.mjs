// How long a key's guard (Durable Object) is active per SCIM call, measured
// in workerd: what Durable Objects duration billing counts (wall-clock while
// the object runs a request; an idle guard can hibernate and is not billed).
// An object serving overlapping calls is active once for the overlap, so the
// figure is the union of the calls' intervals divided by the number of calls.
// Bounded: a fixed number of requests per run.
//
//   node bench/guard-duration.mjs [requests=1000]
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { request as httpRequest, Agent } from "node:http";
import { trivialOrigin } from "./trivial-origin.mjs";
import { startEdge, mintKey, randomSecret, ROOT } from "../tests/e2e/harness.mjs";

const [requests = 1000] = process.argv.slice(2).map(Number);
const build = path.join(ROOT, "build/guard-duration");
mkdirSync(path.join(build, "worker"), { recursive: true });
for (const f of ["index.js", "index_bg.wasm"]) copyFileSync(path.join(ROOT, "build", f), path.join(build, f));
copyFileSync(path.join(ROOT, "bench/guard-duration-worker.mjs"), path.join(build, "worker/shim.mjs"));

const pepper = randomSecret();
const origin = await trivialOrigin();
const quiet = { RATE_PER_MINUTE: "100000000", BURST: "100000000" };
const edge = await startEdge({ originUrl: origin.url, pepper, vars: quiet, buildDir: build, captureLogs: true });

/** `requests` GETs with `key`, `concurrency` at a time, keep-alive; each from `ip(i)`. */
async function run(key, concurrency, ip = () => "192.0.2.1") {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const one = (i) =>
    new Promise((resolve, reject) => {
      const req = httpRequest(`${edge.base}/Users`, { agent, headers: { authorization: `Bearer ${key}`, "cf-connecting-ip": ip(i) } }, (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      });
      req.on("error", reject);
      req.end();
    });
  const worker = async () => {
    for (let i = next++; i < requests; i = next++) await one(i);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return (await fetch(`${edge.url}/__guard`)).json();
}

/** Milliseconds covered by the union of `[start, end]` intervals. */
function union(intervals) {
  let total = 0;
  let reach = -Infinity;
  for (const [s, e] of [...intervals].sort((a, b) => a[0] - b[0])) {
    if (e <= reach) continue;
    total += e - Math.max(s, reach);
    reach = e;
  }
  return total;
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
function describe(name, { inside, roundTrip }) {
  const calls = roundTrip.length;
  const line = (iv) => {
    const each = iv.map(([s, e]) => e - s);
    return `${(union(iv) / calls).toFixed(2)} ms active per call (each: p50 ${pct(each, 50)} ms, p99 ${pct(each, 99)} ms)`;
  };
  console.log(`  ${name} (${calls} calls): inside the object ${line(inside)}; the edge's round trip ${line(roundTrip)}`);
}

console.log(`guard active time per call, ${requests} requests per run, trivial origin on loopback`);
const steady = (await mintKey(edge, pepper)).key;
await run(steady, 1); // warm: the guard exists, its usage is loaded
describe("one client, one key (steady state)", await run(steady, 1));
describe("8 concurrent clients, one key", await run(steady, 8));
const spread = (await mintKey(edge, pepper)).key;
await run(spread, 1);
describe("one client, a new address every call (a usage write each)", await run(spread, 1, (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
await edge.stop();
await origin.stop();
