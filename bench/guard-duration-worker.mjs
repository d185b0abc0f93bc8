// The entry module of the guard-duration run (bench/guard-duration.mjs
// copies it over build/guard-duration/worker/shim.mjs). It records, in the
// isolate, when each call to a key's guard (Durable Object) starts and ends:
// inside the object (its fetch handler, from entry to its answer) and as the
// edge sees it (the stub's round trip). `GET /__guard` returns the intervals
// and clears them.
//
// workerd's clock only moves when I/O completes (a Spectre mitigation): the
// inside intervals hold the object's awaits (storage, the output gate), and
// the edge's round trip also holds the object's CPU time and the transport,
// so it bounds the active time from above.
import Edge, { KeyGuard } from "../index.js";

export { KeyGuard };

const intervals = { inside: [], roundTrip: [] };

const handler = KeyGuard.prototype.fetch;
KeyGuard.prototype.fetch = async function (request) {
  const start = Date.now();
  try {
    return await handler.call(this, request);
  } finally {
    intervals.inside.push([start, Date.now()]);
  }
};

const wrapped = new WeakSet();
function instrument(env) {
  if (wrapped.has(env)) return env;
  wrapped.add(env);
  const guards = env.KEY_GUARD;
  const getStub = guards.get.bind(guards);
  guards.get = (...args) =>
    new Proxy(getStub(...args), {
      get(target, prop) {
        if (prop === "fetch") {
          return async (...a) => {
            const start = Date.now();
            try {
              return await target.fetch(...a);
            } finally {
              intervals.roundTrip.push([start, Date.now()]);
            }
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return env;
}

export default class TimedEdge extends Edge {
  constructor(ctx, env) {
    super(ctx, instrument(env));
  }

  async fetch(request) {
    if (new URL(request.url).pathname === "/__guard") {
      const out = { inside: intervals.inside.splice(0), roundTrip: intervals.roundTrip.splice(0) };
      return Response.json(out);
    }
    return super.fetch(request);
  }
}
