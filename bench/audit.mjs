// What the audit line costs through console.log in workerd, and what the
// alternatives would: the JavaScript verifier (bench/peers/js-verifier.js)
// writing its line as one JSON string (as provgate does), as the object
// itself, batched per isolate (16 lines per call), or not at all; side by
// side, rounds interleaved, trivial origin. The logs go to this process, as
// in Workers Logs / tail they leave the isolate. (An Analytics Engine data
// point is a no-op locally: miniflare has no Analytics Engine, so it cannot
// be measured here.)
//
//   node bench/audit.mjs [seconds=5] [rounds=3] [connections=16]
import { loadavg } from "node:os";
import { trivialOrigin } from "./trivial-origin.mjs";
import { startJsWorker } from "./js-worker.mjs";
import { wrk } from "./wrk.mjs";
import { mintKey, randomSecret } from "../tests/e2e/harness.mjs";

const [seconds = 5, rounds = 3, connections = 16] = process.argv.slice(2).map(Number);
const pepper = randomSecret();
const origin = await trivialOrigin();
const minted = await mintKey(null, pepper, { scopes: "*" });
const kv = [[minted.name, JSON.stringify(minted.record)]];
let lines = 0;
const count = { handleStructuredLogs: ({ message }) => void (lines += message.split("\n").length) };
const modes = ["string", "object", "batch", "none"];
const workers = [];
for (const mode of modes) workers.push([mode, await startJsWorker("js-verifier.js", { originUrl: origin.url, token: "x", pepper, kv, miniflare: count, bindings: { AUDIT: mode } })]);
const target = (w) => `${w.base}/Users`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = [loadavg()[0]];
for (const [, w] of workers) await wrk(target(w), minted.key, { seconds: 2, connections });
const runs = Object.fromEntries(modes.map((m) => [m, []]));
for (let i = 0; i < rounds; i++) for (const [mode, w] of workers) runs[mode].push(await wrk(target(w), minted.key, { seconds, connections }));
load.push(loadavg()[0]);
console.log(`JS verifier, audit line by mode; wrk -c${connections} -d${seconds}s × ${rounds} interleaved (median); load average ${load.map((l) => l.toFixed(2)).join(" → ")}`);
console.log("| audit line | req/s | vs one JSON string | p50 ms | p99 ms |\n|---|---|---|---|---|");
const base = median(runs.string.map((r) => r.rps));
for (const [mode, rs] of Object.entries(runs)) {
  const rps = median(rs.map((r) => r.rps));
  console.log(`| ${mode} | ${rps.toFixed(0)} | ${(rps / base).toFixed(2)}× | ${median(rs.map((r) => r.p50)).toFixed(2)} | ${median(rs.map((r) => r.p99)).toFixed(2)} |`);
}
for (const [, w] of workers) await w.stop();
await origin.stop();
