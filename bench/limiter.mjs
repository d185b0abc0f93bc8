// The per-key limiter's cost on the hot path: the same edge in workerd with
// and without the key's guard (Durable Object), in front of a trivial
// origin on loopback. Bounded: a fixed number of requests per round.
//
//   node bench/limiter.mjs [requests-per-round=2000] [concurrency=8] [rounds=3]
import { trivialOrigin } from "./trivial-origin.mjs";
import { compare, report } from "./rounds.mjs";
import { startEdge, mintKey, randomSecret } from "../tests/e2e/harness.mjs";

const [requests = 2000, concurrency = 8, rounds = 3] = process.argv.slice(2).map(Number);
const pepper = randomSecret();
const origin = await trivialOrigin();
const quiet = { RATE_PER_MINUTE: "100000000", BURST: "100000000" };
const withGuard = await startEdge({ originUrl: origin.url, pepper, vars: quiet, captureLogs: false });
const withoutGuard = await startEdge({ originUrl: origin.url, pepper, guard: false, vars: { ...quiet, RATE_LIMIT_FAILURE_MODE: "open" }, captureLogs: false });

const summary = await compare(
  {
    without: { edge: withoutGuard, key: (await mintKey(withoutGuard, pepper)).key },
    with: { edge: withGuard, key: (await mintKey(withGuard, pepper)).key },
  },
  { requests, concurrency, rounds },
);
report(`limiter cost: ${rounds} rounds × ${requests} requests, concurrency ${concurrency}, trivial origin on loopback`, summary, "with", "without");
await withGuard.stop();
await withoutGuard.stop();
await origin.stop();
