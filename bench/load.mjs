// End-to-end load runs (make bench): wrk against three Workers in workerd
// (miniflare), each in front of the same origin — (a) a passthrough that
// checks nothing (the floor), (b) provgate (also without its guard, and
// without its record cache), (c) an idiomatic JavaScript
// verify-and-forward Worker, also with one Durable Object call per request — for two origins: a trivial Node server (the
// edge's own cost) and scim2-server on waitress (realism). Loopback only;
// every run is bounded by wrk's -d.
//
//   node bench/load.mjs [seconds=10] [connections=16]
import { trivialOrigin } from "./trivial-origin.mjs";
import { startEdge, startScimOrigin, mintKey, randomSecret } from "../tests/e2e/harness.mjs";
import { startJsWorker } from "./js-worker.mjs";
import { wrk } from "./wrk.mjs";

const [seconds = 10, connections = 16] = process.argv.slice(2).map(Number);
const pepper = randomSecret();
const token = randomSecret();

const jsWorker = (file, originUrl, kv) => startJsWorker(file, { originUrl, token, pepper, kv });

const load = (url, key) => wrk(url, key, { seconds, connections });

const results = [];
for (const [originName, start] of [["trivial origin", trivialOrigin], ["scim2-server", () => startScimOrigin({ token })]]) {
  const origin = await start();
  const edge = await startEdge({ originUrl: origin.url, originAuthorization: `Bearer ${token}`, pepper, captureLogs: false, vars: { RATE_PER_MINUTE: "100000000", BURST: "100000000" } });
  // The same edge without its per-key guard (Durable Object): what the guard costs.
  const unguarded = await startEdge({ originUrl: origin.url, originAuthorization: `Bearer ${token}`, pepper, guard: false, captureLogs: false, vars: { RATE_LIMIT_FAILURE_MODE: "open" } });
  // And without its record cache: a KV read and a decode on every request.
  const uncached = await startEdge({ originUrl: origin.url, originAuthorization: `Bearer ${token}`, pepper, captureLogs: false, vars: { RATE_PER_MINUTE: "100000000", BURST: "100000000", RECORD_CACHE_TTL_SECONDS: "0" } });
  const minted = await mintKey(edge, pepper, { scopes: "*" });
  for (const other of [unguarded, uncached]) await other.kv.put(minted.name, JSON.stringify(minted.record));
  const kv = [[minted.name, JSON.stringify(minted.record)]];
  const floor = await jsWorker("passthrough.js", origin.url, kv);
  const peer = await jsWorker("js-verifier.js", origin.url, kv);
  const peerDo = await jsWorker("js-verifier-do.js", origin.url, kv);
  const url = (base) => `${base}/Users?startIndex=1&count=2`;
  const workers = [["passthrough", floor.base], ["provgate", edge.base], ["provgate without guard", unguarded.base], ["provgate without record cache", uncached.base], ["JS peer", peer.base], ["JS peer + DO call", peerDo.base]];
  for (const [, base] of workers) await load(url(base), minted.key).catch(() => {}); // warm-up, discarded
  const row = {};
  for (const [name, base] of workers) row[name] = await load(url(base), minted.key);
  results.push([originName, row]);
  await floor.stop();
  await peer.stop();
  await peerDo.stop();
  await edge.stop();
  await unguarded.stop();
  await uncached.stop();
  await origin.stop();
}

console.log(`wrk -t2 -c${connections} -d${seconds}s --latency, GET /scim/v2/Users?startIndex=1&count=2, one key`);
for (const [originName, row] of results) {
  console.log(`\n${originName}`);
  console.log("| worker | req/s | p50 ms | p99 ms | non-2xx |\n|---|---|---|---|---|");
  for (const [name, r] of Object.entries(row)) console.log(`| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.non2xx} |`);
  const p = row.provgate;
  const u = row["provgate without guard"];
  const c = row["provgate without record cache"];
  console.log(`without its guard: ${(u.rps / row.passthrough.rps).toFixed(2)}× passthrough req/s, ${(u.rps / row["JS peer"].rps).toFixed(2)}× the JS peer`);
  console.log(`record cache: ${(p.rps / c.rps).toFixed(2)}× the req/s without it (p99 ${(p.p99 - c.p99 >= 0 ? "+" : "")}${(p.p99 - c.p99).toFixed(2)} ms)`);
  console.log(
    `provgate: ${(p.rps / row.passthrough.rps).toFixed(2)}× passthrough req/s (p99 +${(p.p99 - row.passthrough.p99).toFixed(2)} ms), ` +
      `${(p.rps / row["JS peer"].rps).toFixed(2)}× the JS peer (p99 ${(p.p99 - row["JS peer"].p99 >= 0 ? "+" : "")}${(p.p99 - row["JS peer"].p99).toFixed(2)} ms)`,
  );
}
