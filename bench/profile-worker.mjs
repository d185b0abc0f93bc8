// The entry module of the profiling build: `make profile` copies it over
// build/profiling/worker/shim.mjs. It wraps the Worker so that each I/O
// phase of a request is timed from inside the isolate — the KV read, the
// key guard's Durable Object round trip, the origin fetch — and the whole
// handler. Only bench/profile.mjs uses it; `GET /__phases` returns the totals.
//
// workerd's clock only moves when I/O completes (a Spectre mitigation), so
// each timing is the I/O's wall time to the millisecond; means over
// thousands of requests are what the profile reports.
// The keys' guards live in provgate-control; this Worker only calls them.
import Edge from "../index.js";

const totals = { kv: [0, 0], guard: [0, 0], origin: [0, 0], handler: [0, 0] };

function add(phase, ms) {
  totals[phase][0] += ms;
  totals[phase][1] += 1;
}

async function timed(phase, promise) {
  const t0 = Date.now();
  try {
    return await promise;
  } finally {
    add(phase, Date.now() - t0);
  }
}

// The bindings keep their classes (the worker crate checks constructor
// names); only the methods the pipeline awaits are wrapped, once per isolate.
const wrapped = new WeakSet();
function instrument(env) {
  if (wrapped.has(env)) return env;
  wrapped.add(env);
  const kv = env.KEYS;
  const kvGet = kv.get.bind(kv);
  kv.get = (...args) => timed("kv", kvGet(...args));
  const guards = env.KEY_GUARD;
  if (guards) {
    const getStub = guards.get.bind(guards);
    guards.get = (...args) => {
      const stub = getStub(...args);
      return new Proxy(stub, {
        get(target, prop) {
          if (prop === "fetch") return (...a) => timed("guard", target.fetch(...a));
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    };
  }
  return env;
}

const originFetch = globalThis.fetch;
globalThis.fetch = (...args) => timed("origin", originFetch(...args));

export default class TimedEdge extends Edge {
  constructor(ctx, env) {
    super(ctx, instrument(env));
  }

  async fetch(request) {
    if (new URL(request.url).pathname === "/__phases") return Response.json(totals);
    return timed("handler", super.fetch(request));
  }
}
