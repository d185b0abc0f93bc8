// Bounded rounds of keyed GETs against an edge, for comparing two edges in
// one run: a fixed number of requests per round, keep-alive, fixed concurrency.
import { request as httpRequest, Agent } from "node:http";

/** One round: `requests` GET /Users with `key`; req/s and latency percentiles. */
export async function round(edge, key, { requests, concurrency }) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(`${edge.base}/Users`);
  const latencies = [];
  let next = 0;
  let failures = 0;
  const one = () =>
    new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      const req = httpRequest(url, { agent, headers: { authorization: `Bearer ${key}` } }, (res) => {
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

/**
 * Warms each edge once, then alternates `rounds` rounds between them so
 * that machine noise hits both; returns the mean of each, by name.
 */
export async function compare(edges, { requests, concurrency, rounds }) {
  const results = Object.fromEntries(Object.keys(edges).map((name) => [name, []]));
  for (const { edge, key } of Object.values(edges)) await round(edge, key, { requests, concurrency });
  for (let i = 0; i < rounds; i++) {
    for (const [name, { edge, key }] of Object.entries(edges)) results[name].push(await round(edge, key, { requests, concurrency }));
  }
  const mean = (xs, k) => xs.reduce((s, x) => s + x[k], 0) / xs.length;
  return Object.fromEntries(
    Object.entries(results).map(([name, xs]) => [name, { rps: mean(xs, "rps"), p50: mean(xs, "p50"), p99: mean(xs, "p99"), failures: xs.reduce((s, x) => s + x.failures, 0) }]),
  );
}

/** Prints each edge's figures and the ratio of `a` to `b`. */
export function report(title, summary, a, b) {
  console.log(title);
  for (const [name, s] of Object.entries(summary)) {
    console.log(`  ${name.padEnd(10)} ${s.rps.toFixed(0)} req/s, p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, non-200: ${s.failures}`);
  }
  console.log(
    `  ratio ${a}/${b}: throughput ${(summary[a].rps / summary[b].rps).toFixed(2)}×, ` +
      `p50 ${signed(summary[a].p50 - summary[b].p50)} ms, p99 ${signed(summary[a].p99 - summary[b].p99)} ms`,
  );
}

const signed = (x) => `${x >= 0 ? "+" : ""}${x.toFixed(2)}`;
