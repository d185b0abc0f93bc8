// What a user might write instead of provgate: an idiomatic JavaScript
// Worker that verifies a Bearer key the same way (HMAC-SHA256 with a pepper
// via WebCrypto, one KV read, status/expiry/scope checks) and forwards.
let hmacKey;

async function recordName(pepper, key) {
  hmacKey ??= await crypto.subtle.importKey("raw", new TextEncoder().encode(pepper), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", hmacKey, new TextEncoder().encode(key));
  return "hash:" + [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// How the audit line is written (binding AUDIT, for bench/audit.mjs): one
// JSON string (the default, as provgate does), the object itself, none, or
// batched per isolate (16 lines per console.log: lines still held when the
// isolate is evicted are lost).
const batch = [];
function audit(mode, line) {
  if (mode === "none") return;
  if (mode === "object") return console.log(line);
  if (mode === "batch") {
    batch.push(JSON.stringify(line));
    if (batch.length >= 16) console.log(batch.splice(0).join("\n"));
    return;
  }
  console.log(JSON.stringify(line));
}

const deny = (status) => new Response(JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: String(status) }), { status, headers: { "content-type": "application/scim+json" } });

export default {
  // `admit` (optional: the peer with a guard, js-verifier-do.js) is asked
  // about every verified request before it is forwarded.
  async fetch(request, env, ctx, admit) {
    const auth = request.headers.get("authorization") || "";
    const key = auth.replace(/^Bearer\s+/i, "");
    if (!/^pvk_[0-9A-Za-z]{49}$/.test(key)) return deny(401);
    const stored = await env.KEYS.get(await recordName(env.PEPPER, key), { cacheTtl: 60 });
    if (!stored) return deny(401);
    const record = JSON.parse(stored);
    if (record.status !== "active" || (record.expires_at && Date.parse(record.expires_at) <= Date.now())) return deny(401);
    const url = new URL(request.url);
    const resource = url.pathname.replace(/^\/scim\/v2\//, "").split("/")[0].toLowerCase();
    const needed = `${resource}:${["GET", "HEAD"].includes(request.method) ? "read" : "write"}`;
    if (!record.scopes.includes("*") && !record.scopes.includes(needed)) return deny(403);
    if (admit && !(await admit(record))) return deny(429);
    const headers = new Headers(request.headers);
    headers.set("authorization", env.ORIGIN_AUTHORIZATION);
    headers.set("x-provgate-key-id", record.key_id);
    const started = Date.now();
    const response = await fetch(env.ORIGIN_URL + url.pathname.replace(/^\/scim\/v2/, "") + url.search, { method: request.method, headers, body: request.body, redirect: "manual" });
    // The same kind of audit line provgate writes, for a like-for-like comparison.
    audit(env.AUDIT, { ts: new Date(started).toISOString(), key_id: record.key_id, decision: "allow", method: request.method, resource, status: response.status, latency_ms: Date.now() - started });
    return response;
  },
};
