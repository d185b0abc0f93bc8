// Load with a counting origin (make load): mixed traffic — valid keys and
// every kind of invalid one — through the built edge in workerd, against an
// origin that records the X-Request-Id of every request it receives. It
// checks the edge's promise under load, not its speed:
//   - no request the edge denied (or should have denied) reached the origin;
//   - every request the edge allowed reached the origin exactly once;
//   - every answer is the one expected for its kind (no unexpected 5xx), and
//     its one audit line gives the reason expected for its kind;
//   - the over-rate key got no more than its quota allows;
//   - memory stays flat after warm-up: the edge isolate's JavaScript heap
//     (after a full GC) and wasm memory, read through workerd's inspector,
//     and — more loosely — the workerd process's resident memory.
// Exits non-zero if any of these fails. Loopback only; bounded in time and
// in count.
//
//   node bench/counting-load.mjs [seconds=60] [connections=16]
import { createServer, Agent, request } from "node:http";
import { once } from "node:events";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { startEdge, mintKey, randomSecret } from "../tests/e2e/harness.mjs";
import { inspectIsolate } from "./isolate-memory.mjs";

// The inspector client needs a WebSocket; Node 20 has it behind a flag.
if (typeof WebSocket !== "function") {
  const rerun = spawnSync(process.execPath, ["--experimental-websocket", ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(rerun.status ?? 1);
}

const [seconds = 60, connections = 16] = process.argv.slice(2).map(Number);
const MAX_REQUESTS = seconds * 3000;
const WARM_UP_MS = Math.min(15_000, seconds * 250);
/**
 * Memory bounds, end against middle. The isolate's: heap ×1.2 + 1 MiB, wasm
 * + 1 MiB (it grows in 64 KiB pages). The process's RSS only ×1.5 + 64 MiB:
 * workerd's RSS climbs for minutes under load even behind a JavaScript
 * passthrough Worker, so it cannot tell a leak of the edge's own.
 */
const HEAP_FACTOR = 1.2;
const HEAP_SLACK = 1024 * 1024;
const WASM_SLACK = 1024 * 1024;
const RSS_FACTOR = 1.5;
const RSS_SLACK_KB = 64 * 1024;
const OVER_RATE = { rate_per_minute: 60, burst: 5 };
const pepper = randomSecret();

/** An origin that counts, per X-Request-Id, what reaches it. */
async function countingOrigin() {
  const seen = new Map();
  const keyIds = new Map();
  let withoutId = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const id = req.headers["x-request-id"];
      if (id) {
        seen.set(id, (seen.get(id) ?? 0) + 1);
        keyIds.set(id, req.headers["x-provgate-key-id"]);
      } else withoutId++;
      res.writeHead(req.method === "POST" ? 201 : 200, { "content-type": "application/scim+json" });
      res.end('{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}');
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { url: `http://127.0.0.1:${server.address().port}/v2`, seen, keyIds, withoutId: () => withoutId, stop: () => server.close() };
}

/** The workerd process miniflare spawned (a child of this process), and its resident memory in KiB. */
function workerdPid() {
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && stat.includes("(workerd)")) return Number(pid);
    } catch {} // the process went away meanwhile
  }
  throw new Error("no workerd child process found");
}
const rssKb = (pid) => Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)[1]);

const origin = await countingOrigin();
// Failed attempts are not throttled per address here: every invalid kind must meet its own check.
const edge = await startEdge({ originUrl: origin.url, pepper, authFailureLimit: 1_000_000_000, inspector: true });
const pid = workerdPid();
const isolate = await inspectIsolate(edge);

const roomy = (r) => ({ ...r, rate_per_minute: 1_000_000, burst: 100_000 });
const valid = [await mintKey(edge, pepper, { label: "valid-1", edit: roomy }), await mintKey(edge, pepper, { label: "valid-2", edit: roomy })];
const flip = (key) => key.slice(0, -1) + (key.at(-1) === "a" ? "b" : "a");
const unknown = await mintKey(null, pepper);
const revoked = await mintKey(edge, pepper, { label: "revoked", edit: (r) => ({ ...roomy(r), status: "revoked" }) });
const expired = await mintKey(edge, pepper, { label: "expired", edit: (r) => ({ ...roomy(r), expires_at: "2020-01-01T00:00:00Z" }) });
const narrow = await mintKey(edge, pepper, { label: "users-read", scopes: "users:read", edit: roomy });
const overRate = await mintKey(edge, pepper, { label: "over-rate", edit: (r) => ({ ...r, ...OVER_RATE }) });

/**
 * The traffic mix: each kind with its weight, how to send it, and the
 * statuses and audit reasons the edge may answer with.
 */
const kinds = [
  { name: "valid GET", weight: 20, key: () => valid[0].key, method: "GET", path: "/Users?startIndex=1&count=2", expect: [200], reasons: ["forwarded"] },
  { name: "valid POST", weight: 15, key: () => valid[1].key, method: "POST", path: "/Users", body: '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"load"}', expect: [201], reasons: ["forwarded"] },
  { name: "garbage", weight: 8, key: () => "garbage-not-a-key", method: "GET", path: "/Users", expect: [401], reasons: ["key_malformed"] },
  { name: "bad checksum", weight: 8, key: () => flip(valid[0].key), method: "GET", path: "/Users", expect: [401], reasons: ["key_bad_checksum"] },
  { name: "unknown key", weight: 8, key: () => unknown.key, method: "GET", path: "/Users", expect: [401], reasons: ["key_unknown"] },
  { name: "revoked", weight: 8, key: () => revoked.key, method: "POST", path: "/Users", body: "{}", expect: [401], reasons: ["key_revoked"] },
  { name: "expired", weight: 8, key: () => expired.key, method: "GET", path: "/Users", expect: [401], reasons: ["key_expired"] },
  { name: "wrong scope", weight: 8, key: () => narrow.key, method: "POST", path: "/Groups", body: "{}", expect: [403], reasons: ["insufficient_scope"] },
  { name: "over rate", weight: 17, key: () => overRate.key, method: "GET", path: "/Users", expect: [200, 429], reasons: ["forwarded", "rate_limited"] },
];
const schedule = kinds.flatMap((k) => Array(k.weight).fill(k));
for (const k of kinds) Object.assign(k, { sent: 0, statuses: new Map(), ids: [], allowedIds: [], reached: 0, errors: 0 });

const agent = new Agent({ keepAlive: true, maxSockets: connections });
function send(kind) {
  return new Promise((resolve) => {
    const headers = { authorization: `Bearer ${kind.key()}` };
    if (kind.body) Object.assign(headers, { "content-type": "application/scim+json", "content-length": Buffer.byteLength(kind.body) });
    const req = request(`${edge.base}${kind.path}`, { method: kind.method, headers, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, id: res.headers["x-request-id"] }));
      res.on("error", (e) => resolve({ error: e.message }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error("client timeout")));
    req.on("error", (e) => resolve({ error: e.message }));
    req.end(kind.body);
  });
}

const started = Date.now();
const deadline = started + seconds * 1000;
let issued = 0;
const memory = [];
const sampler = setInterval(() => memory.push(rssKb(pid)), 1000);
// A GC in workerd runs when the isolate next handles an event: these
// unauthenticated requests provide one after the load (their ids are set apart).
const pokeIds = new Set();
const poke = () => send({ key: () => "", method: "GET", path: "/Users" }).then((r) => pokeIds.add(r.id));
const sample = async () => ({ rssKb: rssKb(pid), ...(await isolate.measure(poke)) });
const samples = {};
const marks = [
  [WARM_UP_MS, "warm"],
  [WARM_UP_MS + (seconds * 1000 - WARM_UP_MS) / 2, "middle"],
].map(([ms, name]) => setTimeout(() => (samples[name] = sample()), ms));
async function client(offset) {
  for (let i = offset; Date.now() < deadline && issued < MAX_REQUESTS; i += connections) {
    issued++;
    const kind = schedule[i % schedule.length];
    kind.sent++;
    const r = await send(kind);
    if (r.error) {
      kind.errors++;
      continue;
    }
    kind.statuses.set(r.status, (kind.statuses.get(r.status) ?? 0) + 1);
    kind.ids.push(r.id);
    if (r.status >= 200 && r.status < 300) kind.allowedIds.push(r.id);
  }
}
await Promise.all(Array.from({ length: connections }, (_, c) => client(c)));
const elapsed = (Date.now() - started) / 1000;
clearInterval(sampler);
marks.forEach(clearTimeout);
const [warm, middle, end] = [await samples.warm, await samples.middle, await sample()];
await new Promise((r) => setTimeout(r, 500)); // anything late would reach the origin by now
// The audit lines trail the responses a little.
const answered = kinds.reduce((s, k) => s + k.ids.length, 0);
for (let i = 0; i < 100 && edge.auditLines().length < answered + pokeIds.size; i++) await new Promise((r) => setTimeout(r, 100));
const audit = new Map();
for (const line of edge.auditLines()) if (!pokeIds.has(line.request_id)) audit.set(line.request_id, [...(audit.get(line.request_id) ?? []), line.reason]);
const wrongReasons = kinds.flatMap((k) => k.ids.filter((id) => audit.get(id)?.length !== 1 || !k.reasons.includes(audit.get(id)[0])).map((id) => ({ kind: k.name, reasons: audit.get(id) ?? [] })));

// Verdicts.
const allowed = new Map();
for (const k of kinds) for (const id of k.allowedIds) allowed.set(id, k);
const invalidKeyIds = new Set([revoked, expired, narrow].map((k) => k.keyId));
let reachedNotAllowed = 0;
let reachedTwice = 0;
let reachedWithInvalidKey = 0;
for (const [id, n] of origin.seen) {
  const kind = allowed.get(id);
  if (!kind) reachedNotAllowed++;
  else kind.reached++;
  if (n > 1) reachedTwice++;
  if (invalidKeyIds.has(origin.keyIds.get(id))) reachedWithInvalidKey++;
}
const allowedMissing = [...allowed.keys()].filter((id) => !origin.seen.has(id)).length;
const unexpected = kinds.flatMap((k) => [...k.statuses].filter(([s]) => !k.expect.includes(s)).map(([s, n]) => ({ kind: k.name, status: s, n })));
const fiveXx = kinds.reduce((sum, k) => sum + [...k.statuses].filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0), 0);
const transportErrors = kinds.reduce((sum, k) => sum + k.errors, 0);
const overKind = kinds.find((k) => k.name === "over rate");
const overAllowed = overKind.allowedIds.length;
const overBound = OVER_RATE.burst + Math.ceil((OVER_RATE.rate_per_minute * elapsed) / 60) + 1;
const heapBound = Math.round(middle.heapBytes * HEAP_FACTOR + HEAP_SLACK);
const wasmBound = middle.wasmBytes + WASM_SLACK;
const rssBound = Math.round(middle.rssKb * RSS_FACTOR + RSS_SLACK_KB);

const total = kinds.reduce((s, k) => s + k.sent, 0);
console.log(`counting load: ${total} requests in ${elapsed.toFixed(1)} s (${(total / elapsed).toFixed(0)} req/s), ${connections} connections, loopback`);
console.log("\n| kind | sent | edge answers | allowed | reached origin |\n|---|---|---|---|---|");
for (const k of kinds) {
  const answers = [...k.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(" ") + (k.errors ? ` errors×${k.errors}` : "");
  console.log(`| ${k.name} | ${k.sent} | ${answers} | ${k.allowedIds.length} | ${k.reached} |`);
}
const mib = (bytes) => (bytes / 1024 / 1024).toFixed(2);
const rssMib = (kb) => (kb / 1024).toFixed(0);
console.log(`\n| memory (MiB) | after warm-up (${(WARM_UP_MS / 1000).toFixed(0)} s) | middle | end |\n|---|---|---|---|`);
console.log(`| edge isolate: JS heap after GC | ${mib(warm.heapBytes)} | ${mib(middle.heapBytes)} | ${mib(end.heapBytes)} |`);
console.log(`| edge isolate: wasm memory | ${mib(warm.wasmBytes)} | ${mib(middle.wasmBytes)} | ${mib(end.wasmBytes)} |`);
console.log(`| workerd process RSS (peak ${rssMib(Math.max(...memory))}) | ${rssMib(warm.rssKb)} | ${rssMib(middle.rssKb)} | ${rssMib(end.rssKb)} |`);

const verdicts = [
  ["no invalid request reached the origin", reachedNotAllowed === 0 && reachedWithInvalidKey === 0 && origin.withoutId() === 0, `${reachedNotAllowed} unallowed ids, ${reachedWithInvalidKey} with an invalid key's id, ${origin.withoutId()} without id`],
  ["every allowed request reached the origin exactly once", allowedMissing === 0 && reachedTwice === 0, `${allowed.size} allowed, ${allowedMissing} missing, ${reachedTwice} twice`],
  ["every answer as expected for its kind (no unexpected 5xx)", unexpected.length === 0 && transportErrors === 0, `${fiveXx} 5xx, ${transportErrors} transport errors${unexpected.length ? `, unexpected: ${JSON.stringify(unexpected)}` : ""}`],
  ["one audit line per request, with its kind's reason", wrongReasons.length === 0 && audit.size === answered, `${audit.size} lines for ${answered} answers, ${wrongReasons.length} wrong${wrongReasons.length ? `, e.g. ${JSON.stringify(wrongReasons.slice(0, 3))}` : ""}`],
  ["the over-rate key stayed within its quota", overAllowed <= overBound, `${overAllowed} admitted ≤ burst ${OVER_RATE.burst} + ${OVER_RATE.rate_per_minute}/min × ${elapsed.toFixed(0)} s + 1 = ${overBound}`],
  ["edge isolate's heap flat after warm-up", end.heapBytes <= heapBound, `end ${mib(end.heapBytes)} MiB ≤ middle ${mib(middle.heapBytes)} × ${HEAP_FACTOR} + ${mib(HEAP_SLACK)} = ${mib(heapBound)} MiB`],
  ["edge isolate's wasm memory flat after warm-up", end.wasmBytes <= wasmBound, `end ${mib(end.wasmBytes)} MiB ≤ middle ${mib(middle.wasmBytes)} + ${mib(WASM_SLACK)} = ${mib(wasmBound)} MiB`],
  ["workerd process RSS bounded", end.rssKb <= rssBound, `end ${rssMib(end.rssKb)} MiB ≤ middle ${rssMib(middle.rssKb)} × ${RSS_FACTOR} + ${rssMib(RSS_SLACK_KB)} = ${rssMib(rssBound)} MiB`],
];
console.log("");
for (const [name, ok, detail] of verdicts) console.log(`${ok ? "PASS" : "FAIL"}  ${name}: ${detail}`);

agent.destroy();
isolate.close();
await edge.stop();
origin.stop();
process.exit(verdicts.every(([, ok]) => ok) ? 0 : 1);
