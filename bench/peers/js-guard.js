// The JavaScript peer's per-key guard (js-verifier-do.js): one GCRA step
// in memory per call, no usage counts. With `durable` (the peer's DURABLE
// binding), it also reads a revocation flag from its storage on its first
// call, as a guard that knows revocations durably must: no storage
// otherwise.
export class Guard {
  constructor(state) {
    this.state = state;
    this.tat = 0;
  }
  async fetch(request) {
    const { rate_per_minute, burst, durable } = await request.json();
    if (durable && this.revoked === undefined) this.revoked = (await this.state.storage.get("revoked")) ?? false;
    if (this.revoked) return Response.json({ admit: false });
    const now = Date.now() * 1000;
    const interval = 60e6 / rate_per_minute;
    const tat = Math.max(this.tat, now);
    const admit = tat - now <= interval * (burst - 1);
    if (admit) this.tat = tat + interval;
    return Response.json({ admit });
  }
}

export default { fetch: () => new Response("not found", { status: 404 }) };
