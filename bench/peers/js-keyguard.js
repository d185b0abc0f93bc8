// A stand-in for provgate's KeyGuard speaking its /check protocol
// (src/core/guard.rs) in JavaScript: one GCRA step in memory, no storage,
// no usage. For bench/tail.mjs only, to tell the edge's side of the guard
// call from the guard's own.
export class KeyGuard {
  constructor() {
    this.tat = 0;
  }
  async fetch(request) {
    const ask = JSON.parse(await request.text());
    const now = Date.now() * 1000;
    // Whole microseconds: the edge reads them as integers.
    const interval = Math.ceil(60e6 / ask.rate_per_minute);
    const tat = Math.max(this.tat, now);
    if (tat - now > interval * (ask.burst - 1)) return Response.json({ answer: { verdict: "limit", retry_after_us: tat - now, reset_after_us: tat - now }, new_source: false });
    this.tat = tat + interval;
    return Response.json({ answer: { verdict: "admit", remaining: Math.floor((interval * ask.burst - (this.tat - now)) / interval), reset_after_us: this.tat - now }, new_source: false });
  }
}

export default { fetch: () => new Response("not found", { status: 404 }) };
