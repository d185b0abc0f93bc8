// The management API at scale (BENCHMARKS.md, "Management API at scale"):
// mints N keys (default 10,000) across 100 tenants through the API into a
// local edge (both Workers in workerd), then lists one tenant, pages through
// every key and runs the stale report. It times each phase and counts the
// KV operations each call makes, through a KEYS binding that counts them
// (a wrapped binding in front of the same namespace): listings must cost KV
// list pages, never a read per key. Not part of make test.
//   node bench/api-scale.mjs [keys] [concurrency]
import { startEdge, startRecordingOrigin, randomSecret } from "../tests/e2e/harness.mjs";

const KEYS = Number(process.argv[2] ?? 10_000);
const CONCURRENCY = Number(process.argv[3] ?? 8);
const TENANTS = 100;
const pepper = randomSecret();
const rootToken = randomSecret() + randomSecret();

/** KEYS for the control Worker: the real namespace, each call logged as `kvop <method>`. */
const countingKv = {
  workers: [{
    name: "kv-counter",
    modules: true,
    kvNamespaces: { INNER: "REPLACE_WITH_KV_NAMESPACE_ID" },
    script: `export default function (env) {
      const counted = (m) => (...args) => { console.log("kvop " + m); return env.INNER[m](...args); };
      return { get: counted("get"), getWithMetadata: counted("getWithMetadata"), put: counted("put"), list: counted("list"), delete: counted("delete") };
    }`,
  }],
  bindings: { kvNamespaces: {}, wrappedBindings: { KEYS: { scriptName: "kv-counter" } } },
};

const origin = await startRecordingOrigin();
const edge = await startEdge({ originUrl: origin.url, pepper, authFailureLimit: 1_000_000, controlStandIns: countingKv, vars: { ROOT_TOKEN: rootToken } });
const api = async (method, path, body) => {
  const res = await fetch(`${edge.url}/_provgate/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${rootToken}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
};
const kvOps = () => {
  const counts = {};
  for (const l of edge.logs) if (l.message.startsWith("kvop ")) counts[l.message.slice(5)] = (counts[l.message.slice(5)] ?? 0) + 1;
  return counts;
};
const diff = (after, before) => Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v));
const per = (counts, n) => Object.entries(counts).map(([k, v]) => `${k} ${(v / n).toFixed(2)}`).join(", ") || "none";
const phase = async (name, calls, work) => {
  const before = kvOps();
  const t0 = performance.now();
  const result = await work();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 200)); // the last log lines
  const ops = diff(kvOps(), before);
  console.log(`${name}: ${calls()} calls in ${(ms / 1000).toFixed(1)} s (${((calls() / ms) * 1000).toFixed(0)} calls/s); KV per call: ${per(ops, calls())}`);
  return result;
};

try {
  let minted = 0;
  await phase(`mint ${KEYS} keys across ${TENANTS} tenants, ${CONCURRENCY} at a time`, () => minted, async () => {
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < KEYS) {
        const i = next++;
        await api("POST", "/keys", { label: `bench ${i}`, tenant: `tenant-${i % TENANTS}`, scopes: ["users:read"], expires_in: "365d" });
        minted++;
      }
    }));
  });
  const sample = (await api("GET", "/keys?tenant=tenant-3&limit=1000")).items.map((i) => i.key_id);
  let done = 0;
  await phase(`PATCH ${sample.length} keys once each, ${CONCURRENCY} at a time`, () => done, async () => {
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < sample.length) {
        await api("PATCH", `/keys/${sample[next++]}`, { metadata: { patched: "yes" } });
        done++;
      }
    }));
  });
  done = 0;
  await phase(`mint ${TENANTS} keys with an Idempotency-Key, ${CONCURRENCY} at a time`, () => done, async () => {
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < TENANTS) {
        const i = next++;
        const res = await fetch(`${edge.url}/_provgate/api/v1/keys`, {
          method: "POST",
          headers: { authorization: `Bearer ${rootToken}`, "content-type": "application/json", "idempotency-key": `bench-${i}` },
          body: JSON.stringify({ label: `idem ${i}`, tenant: `tenant-${i}`, scopes: ["users:read"] }),
        });
        if (res.status !== 201) throw new Error(`idempotent mint: ${res.status} ${await res.text()}`);
        done++;
      }
    }));
  });
  let pages = 0;
  const one = await phase("list one tenant (limit 1000)", () => pages, async () => {
    const items = [];
    let cursor = null;
    do {
      const page = await api("GET", `/keys?tenant=tenant-7&limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
      items.push(...page.items);
      cursor = page.cursor;
      pages++;
    } while (cursor);
    return items;
  });
  console.log(`  tenant-7: ${one.length} keys`);
  pages = 0;
  const all = await phase("page through every key (limit 1000)", () => pages, async () => {
    let count = 0;
    let cursor = null;
    do {
      const page = await api("GET", `/keys?limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
      count += page.items.length;
      cursor = page.cursor;
      pages++;
    } while (cursor);
    return count;
  });
  console.log(`  every key: ${all} keys in ${pages} pages`);
  pages = 0;
  const stale = await phase("stale report, unused for 1s (limit 1000)", () => pages, async () => {
    let count = 0;
    let cursor = null;
    do {
      const page = await api("GET", `/usage/stale?unused_for=1s&limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
      count += page.items.length + page.errors.length;
      cursor = page.cursor;
      pages++;
    } while (cursor);
    return count;
  });
  console.log(`  stale: ${stale} keys in ${pages} pages`);
} finally {
  await edge.stop();
  await origin.stop();
}
