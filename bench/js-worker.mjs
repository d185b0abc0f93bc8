// A JavaScript Worker of bench/peers/ in workerd (miniflare), its KEYS
// namespace seeded with `kv` ([name, value] pairs): the load runs' floor
// and peer.
import { Miniflare } from "miniflare";
import path from "node:path";
import { ROOT } from "../tests/e2e/harness.mjs";

export async function startJsWorker(file, { originUrl, token, pepper, kv = [], miniflare = {} }) {
  const mf = new Miniflare({
    scriptPath: path.join(ROOT, "bench/peers", file),
    modules: true,
    compatibilityDate: "2026-04-01",
    kvNamespaces: { KEYS: "REPLACE_WITH_KV_NAMESPACE_ID" },
    bindings: { ORIGIN_URL: originUrl, ORIGIN_AUTHORIZATION: `Bearer ${token}`, PEPPER: pepper },
    host: "127.0.0.1",
    port: 0,
    cf: false,
    ...miniflare,
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const store = await mf.getKVNamespace("KEYS");
  for (const [k, v] of kv) await store.put(k, v);
  return { url, base: `${url}/scim/v2`, stop: () => mf.dispose() };
}
