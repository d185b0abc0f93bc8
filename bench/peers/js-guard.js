// The JavaScript peer's per-key guard (js-verifier-do.js): one GCRA step
// in memory per call, no storage, no usage counts.
export class Guard {
  constructor() {
    this.tat = 0;
  }
  async fetch(request) {
    const { rate_per_minute, burst } = await request.json();
    const now = Date.now() * 1000;
    const interval = 60e6 / rate_per_minute;
    const tat = Math.max(this.tat, now);
    const admit = tat - now <= interval * (burst - 1);
    if (admit) this.tat = tat + interval;
    return Response.json({ admit });
  }
}

export default { fetch: () => new Response("not found", { status: 404 }) };
