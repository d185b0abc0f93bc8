// The JavaScript verifier (js-verifier.js) plus what a per-key guard costs
// on the platform: one Durable Object call per request, to an object in
// another Worker (js-guard.js, as provgate's guard lives in
// provgate-control) that takes one GCRA step in memory and stores nothing.
import verifier from "./js-verifier.js";

export default {
  async fetch(request, env, ctx) {
    return verifier.fetch(request, env, ctx, async (record) => {
      const stub = env.GUARD.get(env.GUARD.idFromName(record.key_id));
      const answer = await (await stub.fetch("https://guard/check", { method: "POST", body: JSON.stringify({ rate_per_minute: 100000000, burst: 100000000, durable: env.DURABLE === "1" }) })).json();
      return answer.admit;
    });
  },
};
