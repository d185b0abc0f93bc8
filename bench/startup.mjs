// Time from a fresh isolate (a new workerd via miniflare) to the first
// verified, forwarded response: provgate against the JavaScript peer.
// Bounded: `rounds` starts of each.
//
//   node bench/startup.mjs [rounds=5]
import { Miniflare } from "miniflare";
import { trivialOrigin } from "./trivial-origin.mjs";
import path from "node:path";
import { ROOT, startEdge, mintKey, raw, randomSecret } from "../tests/e2e/harness.mjs";

const [rounds = 5] = process.argv.slice(2).map(Number);
const pepper = randomSecret();
const origin = await trivialOrigin();
const originUrl = origin.url;
const minted = await mintKey(null, pepper);

async function provgate() {
  const t0 = performance.now();
  const edge = await startEdge({ originUrl, pepper, captureLogs: false });
  const ready = performance.now();
  await edge.kv.put(minted.name, JSON.stringify(minted.record));
  const t1 = performance.now();
  const res = await raw(`${edge.base}/Users`, { headers: { authorization: `Bearer ${minted.key}` } });
  const first = performance.now() - t1;
  await edge.stop();
  if (res.status !== 200) throw new Error(`provgate answered ${res.status}`);
  return { ready: ready - t0, first };
}

async function peer() {
  const t0 = performance.now();
  const mf = new Miniflare({
    scriptPath: path.join(ROOT, "bench/peers/js-verifier.js"),
    modules: true,
    compatibilityDate: "2026-04-01",
    kvNamespaces: { KEYS: "REPLACE_WITH_KV_NAMESPACE_ID" },
    bindings: { ORIGIN_URL: originUrl, ORIGIN_AUTHORIZATION: "Bearer x", PEPPER: pepper },
    host: "127.0.0.1",
    port: 0,
    cf: false,
  });
  const base = (await mf.ready).toString().replace(/\/$/, "");
  const ready = performance.now();
  await (await mf.getKVNamespace("KEYS")).put(minted.name, JSON.stringify(minted.record));
  const t1 = performance.now();
  const res = await raw(`${base}/scim/v2/Users`, { headers: { authorization: `Bearer ${minted.key}` } });
  const first = performance.now() - t1;
  await mf.dispose();
  if (res.status !== 200) throw new Error(`peer answered ${res.status}`);
  return { ready: ready - t0, first };
}

const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = { provgate: [], peer: [] };
for (let i = 0; i < rounds; i++) {
  runs.peer.push(await peer());
  runs.provgate.push(await provgate());
}
console.log(`start-up, median of ${rounds}: workerd ready, then the first verified request on the fresh isolate`);
for (const [name, xs] of Object.entries(runs)) {
  console.log(`  ${name.padEnd(8)} ready ${median(xs.map((x) => x.ready)).toFixed(0)} ms, first response ${median(xs.map((x) => x.first)).toFixed(1)} ms`);
}
const ratio = median(runs.provgate.map((x) => x.first)) / median(runs.peer.map((x) => x.first));
console.log(`  first verified response: provgate ${ratio.toFixed(2)}× the JavaScript peer`);
await origin.stop();
