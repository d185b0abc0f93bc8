// Alerts end to end: the built wasm in workerd posts to a recording webhook
// on loopback for each kind (new source, origin refusing the edge, an
// address over the failed-attempt limit, a revoke and a mint through the
// management API), once per key or
// address and kind per window; a webhook that is down or never answers
// changes neither the SCIM answers nor their latency.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startEdge, startRecordingOrigin, startWebhook, mintKey, raw, randomSecret, apiClient, clearOfWindowEdge } from "./harness.mjs";

// These edges play clients from other addresses over plain HTTP (loopback in fact).
const REMOTE = { REQUIRE_HTTPS: "false" };

const pepper = randomSecret();
const rootToken = randomSecret() + randomSecret();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until `count()` reaches `n` (alerts are posted after the response), then a little longer to catch extras. */
async function settle(count, n, { within = 10_000, extra = 500 } = {}) {
  const until = Date.now() + within;
  while (count() < n && Date.now() < until) await sleep(25);
  await sleep(extra);
  return count();
}

const get = (edge, key, ip, path = "/Users") =>
  raw(`${edge.base}${path}`, { headers: { authorization: `Bearer ${key}`, "cf-connecting-ip": ip } });

describe("alerts reach the webhook, one per key or address and kind per window", () => {
  let origin, webhook, edge;
  const ofKind = (kind) => webhook.received().filter((a) => a.provgate.kind === kind);
  before(async () => {
    // The origin refuses the edge on one path, as it would with a wrong ORIGIN_AUTHORIZATION.
    origin = await startRecordingOrigin((req) => (req.url.includes("/Users/refuse-edge") ? { status: 401, body: "{}" } : {}));
    webhook = await startWebhook();
    edge = await startEdge({
      originUrl: origin.url,
      pepper,
      authFailureLimit: 3,
      vars: { ALERT_WEBHOOK_URL: webhook.url, ALERT_DEDUP_SECONDS: "3600", ROOT_TOKEN: rootToken, ...REMOTE },
    });
  });
  after(async () => {
    await edge?.stop();
    await webhook?.stop();
    await origin?.stop();
  });

  test("a key used from a new source: one alert per key, naming the key and the source", async () => {
    const a = await mintKey(edge, pepper, { tenant: "acme" });
    const b = await mintKey(edge, pepper);
    const statuses = [];
    // The first address is the key's history, not a new source; every later one is new.
    for (const ip of ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]) statuses.push((await get(edge, a.key, ip, "/Users?filter=userName%20eq%20%22x%40y.z%22")).status);
    for (const ip of ["198.51.100.1", "198.51.100.2"]) statuses.push((await get(edge, b.key, ip)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
    assert.equal(edge.eventLines("new_source").length, 4, "every new source is still logged");

    assert.equal(await settle(() => ofKind("new_source").length, 2), 2, JSON.stringify(webhook.received()));
    const [first, second] = ofKind("new_source");
    assert.deepEqual([first.provgate.key_id, first.provgate.tenant, first.provgate.source.ip, first.provgate.suppressed], [a.keyId, "acme", "192.0.2.2", 0]);
    assert.match(first.text, new RegExp(`key ${a.keyId} \\(tenant acme\\) was used from a new source \\(192\\.0\\.2\\.2[,)]`));
    assert.deepEqual([second.provgate.key_id, second.provgate.source.ip], [b.keyId, "198.51.100.2"]);
    assert.equal(webhook.alerts[0].headers["content-type"], "application/json");
    assert.ok(!webhook.alerts.some((x) => /pvk_|hash:|filter|userName/.test(x.body)), "no key, hash or query in an alert");
  });

  test("the origin refusing the edge: one alert per key, with the origin's status", async () => {
    const c = await mintKey(edge, pepper);
    const first = await get(edge, c.key, "192.0.2.50", "/Users/refuse-edge");
    const again = await get(edge, c.key, "192.0.2.50", "/Users/refuse-edge");
    assert.deepEqual([first.status, again.status], [502, 502]);
    assert.equal(await settle(() => ofKind("origin_rejected_edge").length, 1), 1);
    const alert = ofKind("origin_rejected_edge")[0];
    assert.deepEqual([alert.provgate.key_id, alert.provgate.origin_status, alert.provgate.request_id], [c.keyId, 401, first.headers["x-request-id"]]);
    assert.match(alert.text, /ORIGIN_AUTHORIZATION/);
  });

  test("an address over the failed-attempt limit: one alert per address", async () => {
    const bad = (ip) => raw(`${edge.base}/Users`, { headers: { authorization: "Bearer pvk_not_a_key", "cf-connecting-ip": ip } });
    const statuses = [];
    await clearOfWindowEdge();
    for (let i = 0; i < 6; i++) statuses.push((await bad("203.0.113.7")).status);
    for (let i = 0; i < 4; i++) statuses.push((await bad("203.0.113.8")).status);
    assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429, 401, 401, 401, 429]);
    assert.equal(await settle(() => ofKind("auth_throttled").length, 2), 2);
    assert.deepEqual(ofKind("auth_throttled").map((x) => x.provgate.client_ip), ["203.0.113.7", "203.0.113.8"]);
    assert.ok(ofKind("auth_throttled").every((x) => x.provgate.key_id === null));
  });

  test("a revoke through the management API alerts as key.revoke (and a mint as key.mint)", async () => {
    const api = apiClient(edge, rootToken);
    const minted = await api("POST", "/keys", { body: { label: "alerted", scopes: ["users:read"] }, headers: { "cf-connecting-ip": "192.0.2.98" } });
    assert.equal(minted.status, 201, minted.text);
    assert.equal(await settle(() => ofKind("key.mint").length, 1), 1);
    assert.equal(ofKind("key.mint")[0].provgate.key_id, minted.json().key_id);
    const d = await mintKey(edge, pepper);
    const revoke = await api("POST", `/keys/${d.keyId}/revoke`, { headers: { "cf-connecting-ip": "192.0.2.99" } });
    assert.equal(revoke.status, 200, revoke.text);
    assert.equal(await settle(() => ofKind("key.revoke").length, 1), 1);
    const alert = ofKind("key.revoke")[0];
    assert.deepEqual([alert.provgate.key_id, alert.provgate.client_ip], [d.keyId, "192.0.2.99"]);
    assert.match(alert.text, new RegExp(`key\\.revoke on key ${d.keyId}, from 192\\.0\\.2\\.99`));
  });

  test("ordinary traffic raises no alert", async () => {
    const before = webhook.alerts.length;
    const e = await mintKey(edge, pepper);
    for (let i = 0; i < 5; i++) assert.equal((await get(edge, e.key, "192.0.2.200")).status, 200);
    assert.equal((await raw(`${edge.base}/Users`, { headers: { authorization: "Bearer pvk_nope", "cf-connecting-ip": "192.0.2.201" } })).status, 401);
    await sleep(500);
    assert.equal(webhook.alerts.length, before);
  });
});

describe("after the window, the alert is sent again with the count held back", () => {
  test("new sources of one key across two windows", async () => {
    const origin = await startRecordingOrigin();
    const webhook = await startWebhook();
    const edge = await startEdge({ originUrl: origin.url, pepper, vars: { ALERT_WEBHOOK_URL: webhook.url, ALERT_DEDUP_SECONDS: "3", ...REMOTE } });
    try {
      const { key } = await mintKey(edge, pepper);
      for (const ip of ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]) assert.equal((await get(edge, key, ip)).status, 200);
      assert.equal(await settle(() => webhook.alerts.length, 1), 1);
      await sleep(3_300);
      assert.equal((await get(edge, key, "192.0.2.5")).status, 200);
      assert.equal(await settle(() => webhook.alerts.length, 2), 2);
      const later = webhook.received()[1];
      assert.deepEqual([later.provgate.source.ip, later.provgate.suppressed], ["192.0.2.5", 2]);
      assert.match(later.text, /2 more like this since the last alert/);
    } finally {
      await edge.stop();
      await webhook.stop();
      await origin.stop();
    }
  });
});

describe("a webhook that is down or never answers changes nothing for SCIM", () => {
  /** Alert-raising traffic: 4 keys each used from two addresses, 3 addresses each sending 3 bad keys. */
  async function traffic(edge) {
    const results = [];
    const timed = async (send) => {
      const started = performance.now();
      const r = await send();
      results.push({ status: r.status, ms: performance.now() - started });
    };
    for (let k = 0; k < 4; k++) {
      const { key } = await mintKey(edge, pepper);
      for (const ip of [`192.0.2.${10 + k}`, `198.51.100.${10 + k}`]) await timed(() => get(edge, key, ip));
    }
    for (let a = 0; a < 3; a++) {
      for (let i = 0; i < 3; i++) await timed(() => raw(`${edge.base}/Users`, { headers: { authorization: "Bearer pvk_bad", "cf-connecting-ip": `203.0.113.${20 + a}` } }));
    }
    return results;
  }
  const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
  // 4 new sources + 3 throttled addresses.
  const ALERTS = 7;

  test("statuses and latency match an edge without a webhook; each failed post is logged once, without the URL", { timeout: 120_000 }, async () => {
    const origin = await startRecordingOrigin();
    const down = await startWebhook({ mode: "down" });
    const hang = await startWebhook({ mode: "hang" });
    const edges = {
      none: await startEdge({ originUrl: origin.url, pepper, authFailureLimit: 2, vars: REMOTE }),
      down: await startEdge({ originUrl: origin.url, pepper, authFailureLimit: 2, vars: { ALERT_WEBHOOK_URL: down.url, ...REMOTE } }),
      hang: await startEdge({ originUrl: origin.url, pepper, authFailureLimit: 2, vars: { ALERT_WEBHOOK_URL: hang.url, ...REMOTE } }),
    };
    try {
      const runs = {};
      for (const [name, edge] of Object.entries(edges)) {
        await clearOfWindowEdge(15_000);
        runs[name] = await traffic(edge);
      }
      const statuses = (name) => runs[name].map((r) => r.status);
      assert.deepEqual(statuses("none"), [200, 200, 200, 200, 200, 200, 200, 200, 401, 401, 429, 401, 401, 429, 401, 401, 429]);
      assert.deepEqual(statuses("down"), statuses("none"));
      assert.deepEqual(statuses("hang"), statuses("none"));
      for (const name of ["down", "hang"]) {
        const ms = runs[name].map((r) => r.ms);
        const base = median(runs.none.map((r) => r.ms));
        console.log(`# ${name}: median ${median(ms).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms; without a webhook: median ${base.toFixed(1)} ms`);
        // Generous bounds: waiting for the 5 s post would show as seconds.
        assert.ok(median(ms) < base + 250, `${name}: median ${median(ms)} ms vs ${base} ms without a webhook`);
        assert.ok(Math.max(...ms) < 3_000, `${name}: a request took ${Math.max(...ms)} ms`);
      }
      // Every post was tried once and failed once: refused at once, or abandoned after 5 s.
      assert.equal(await settle(() => hang.alerts.length, ALERTS), ALERTS, "the silent webhook received each alert once");
      for (const name of ["down", "hang"]) {
        const failures = () => edges[name].eventLines("alert_undelivered");
        assert.equal(await settle(() => failures().length, ALERTS, { within: 15_000, extra: 1_000 }), ALERTS, `${name}: ${JSON.stringify(failures())}`);
        assert.deepEqual(new Set(failures().map((l) => l.kind)), new Set(["new_source", "auth_throttled"]));
      }
      assert.ok(edges.down.eventLines("alert_undelivered").every((l) => l.failure === "unreachable"));
      assert.ok(edges.hang.eventLines("alert_undelivered").every((l) => l.failure === "no answer within 5000 ms"));
      assert.equal(edges.none.eventLines("alert_undelivered").length, 0);
    } finally {
      for (const edge of Object.values(edges)) await edge.stop();
      await hang.stop();
      await down.stop();
      await origin.stop();
    }
  });
});

describe("alert settings", () => {
  test("a webhook URL that is not http(s), or a dedup window out of range, is misconfigured", async () => {
    const origin = await startRecordingOrigin();
    try {
      for (const vars of [{ ALERT_WEBHOOK_URL: "hooks.example.com/x" }, { ALERT_DEDUP_SECONDS: "0" }, { ALERT_DEDUP_SECONDS: "86401" }, { ALERT_DEDUP_SECONDS: "soon" }]) {
        const edge = await startEdge({ originUrl: origin.url, pepper, vars });
        try {
          const res = await raw(`${edge.base}/Users`, { headers: { authorization: "Bearer pvk_x" } });
          assert.equal(res.status, 500, JSON.stringify(vars));
          assert.equal((await edge.auditFor(res.headers["x-request-id"])).reason, "misconfigured");
        } finally {
          await edge.stop();
        }
      }
      assert.equal(origin.received.length, 0);
    } finally {
      await origin.stop();
    }
  });
});
