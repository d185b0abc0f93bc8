// The per-key limiter's cost on the hot path: the same edge in workerd with
// and without the key's guard (Durable Object), in front of a trivial
// origin on loopback. Bounded: a fixed number of requests per round.
//
//   node bench/limiter.mjs [requests-per-round=2000] [concurrency=8] [rounds=3]
import { request as httpRequest, Agent } from "node:http";
import { trivialOrigin } from "./trivial-origin.mjs";
import { startEdge, mintKey, randomSecret } from "../tests/e2e/harness.mjs";

const [requests = 2000, concurrency = 8, rounds = 3] = process.argv.slice(2).map(Number);
const pepper = randomSecret();

const origin = await trivialOrigin();
const originUrl = origin.url;

const quiet = { RATE_PER_MINUTE: "100000000", BURST: "100000000" };
const withGuard = await startEdge({ originUrl, pepper, vars: quiet });
const withoutGuard = await startEdge({ originUrl, pepper, guard: false, vars: { ...quiet, RATE_LIMIT_FAILURE_MODE: "open" } });
const keys = new Map([
  [withGuard, (await mintKey(withGuard, pepper)).key],
  [withoutGuard, (await mintKey(withoutGuard, pepper)).key],
]);

async function round(edge) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(`${edge.base}/Users`);
  const latencies = [];
  let next = 0;
  let failures = 0;
  const one = () =>
    new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      const req = httpRequest(url, { agent, headers: { authorization: `Bearer ${keys.get(edge)}` } }, (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode !== 200) failures++;
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          resolve();
        });
      });
      req.on("error", () => {
        failures++;
        resolve();
      });
      req.end();
    });
  const worker = async () => {
    while (next++ < requests) await one();
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { rps: requests / seconds, p50: pct(50), p99: pct(99), failures };
}

const totals = { with: [], without: [] };
await round(withGuard); // warm both isolates and the guard
await round(withoutGuard);
for (let i = 0; i < rounds; i++) {
  totals.without.push(await round(withoutGuard));
  totals.with.push(await round(withGuard));
}
const mean = (xs, k) => xs.reduce((s, x) => s + x[k], 0) / xs.length;
const summary = {};
for (const [name, xs] of Object.entries(totals)) {
  summary[name] = { rps: mean(xs, "rps"), p50: mean(xs, "p50"), p99: mean(xs, "p99"), failures: xs.reduce((s, x) => s + x.failures, 0) };
}
console.log(`limiter cost: ${rounds} rounds × ${requests} requests, concurrency ${concurrency}, trivial origin on loopback`);
for (const [name, s] of Object.entries(summary)) {
  console.log(`  ${name.padEnd(7)} guard: ${s.rps.toFixed(0)} req/s, p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, non-200: ${s.failures}`);
}
console.log(
  `  ratio with/without: throughput ${(summary.with.rps / summary.without.rps).toFixed(2)}×, ` +
    `p50 +${(summary.with.p50 - summary.without.p50).toFixed(2)} ms, p99 +${(summary.with.p99 - summary.without.p99).toFixed(2)} ms`,
);
await withGuard.stop();
await withoutGuard.stop();
await origin.stop();
