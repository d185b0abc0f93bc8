// Two builds of the edge side by side, in one run: the current build/ and
// another build directory (e.g. a checkout of an earlier commit after
// `make build`), same origin, same keys' shape. Bounded rounds.
//
//   node bench/ab.mjs <other-build-dir> [requests-per-round=2000] [concurrency=8] [rounds=3]
import path from "node:path";
import { trivialOrigin } from "./trivial-origin.mjs";
import { compare, report } from "./rounds.mjs";
import { ROOT, startEdge, mintKey, randomSecret } from "../tests/e2e/harness.mjs";

const [other, ...rest] = process.argv.slice(2);
if (!other) throw new Error("usage: node bench/ab.mjs <other-build-dir> [requests] [concurrency] [rounds]");
const [requests = 2000, concurrency = 8, rounds = 3] = rest.map(Number);
const pepper = randomSecret();
const origin = await trivialOrigin();
const vars = { RATE_PER_MINUTE: "100000000", BURST: "100000000" };
const current = await startEdge({ originUrl: origin.url, pepper, vars, captureLogs: false });
const baseline = await startEdge({ originUrl: origin.url, pepper, vars, captureLogs: false, buildDir: path.resolve(other) });

const summary = await compare(
  {
    baseline: { edge: baseline, key: (await mintKey(baseline, pepper)).key },
    current: { edge: current, key: (await mintKey(current, pepper)).key },
  },
  { requests, concurrency, rounds },
);
report(`build/ (${ROOT}) against ${other}: ${rounds} rounds × ${requests} requests, concurrency ${concurrency}, trivial origin`, summary, "current", "baseline");
await current.stop();
await baseline.stop();
await origin.stop();
