// End-to-end harness: the built wasm in workerd (via miniflare) in front of
// real origins on loopback. Every server here binds 127.0.0.1 only.
import { Miniflare } from "miniflare";
import { before, after } from "node:test";
import { spawn, spawnSync } from "node:child_process";
import { createServer, request as httpRequest } from "node:http";
import { createConnection } from "node:net";
import { randomBytes, createHash } from "node:crypto";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { once } from "node:events";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { leaks, underTest, registerSecrets, watch, release, scanNowAndAtEnd, scanCliOutput, watchApiResponse } from "./leak-watch.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "target/debug/provgate");
const PYTHON = path.join(ROOT, ".venv/bin/python");

export const randomSecret = () => randomBytes(24).toString("hex");
/** A pepper's published fingerprint (PEPPER_ID): the first 16 hex digits of its SHA-256, as core::lookup::pepper_id. */
export const pepperId = (pepper) => createHash("sha256").update(pepper).digest("hex").slice(0, 16);
/** The edge's default signing secret in tests; origins that verify use it too. */
export const SIGNING_SECRET = randomSecret();
leaks.secret("signing secret", SIGNING_SECRET);

/** scim2-server (waitress) on a free loopback port; resolves once it listens. */
export async function startScimOrigin({ token, signingSecrets = [], maxAge }) {
  leaks.secret("origin credential", token);
  signingSecrets.forEach((s) => leaks.secret("signing secret", s));
  // --record-requests: it prints each request it receives (`request {json}`) for the leak scan.
  const args = [path.join(ROOT, "tests/origin/scim_origin.py"), "--port", "0", "--bearer-token", token, "--record-requests"];
  for (const s of signingSecrets) args.push("--signing-secret", s);
  if (maxAge) args.push("--max-age", String(maxAge));
  const proc = spawn(PYTHON, args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const closed = once(proc, "close");
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d));
  const received = [];
  const url = await new Promise((resolve, reject) => {
    let pending = "";
    proc.stdout.on("data", (d) => {
      const lines = (pending + d).split("\n");
      pending = lines.pop();
      for (const line of lines) {
        if (line.startsWith("listening ")) resolve(line.split(" ")[1]);
        if (!line.startsWith("request ")) continue;
        const r = JSON.parse(line.slice("request ".length));
        leaks.query(r.target.split("?")[1]);
        received.push({ method: r.method, path: r.target, headers: Object.entries(r.headers) });
      }
    });
    proc.on("exit", (code) => reject(new Error(`SCIM origin exited ${code}: ${stderr}`)));
  });
  const origin = watch({
    url,
    stderr: () => stderr,
    /** What it received so far: `[{ method, path, headers }]`. */
    requests: () => [...received],
    async stop() {
      if (!release(origin)) return;
      proc.kill("SIGTERM");
      await closed;
      scanNowAndAtEnd(() => leaks.scanOriginHeaders(received));
    },
  });
  return origin;
}

/**
 * An origin that records every request it receives and answers with
 * `respond(req)` (default 200 + a small SCIM ListResponse).
 */
export async function startRecordingOrigin(respond) {
  const received = [];
  // For the leak scan; kept apart from `received`, which tests clear.
  const seen = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      // rawHeaders: the names exactly as sent (case, underscores, repeats).
      const entry = { method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString() };
      received.push(entry);
      leaks.query(req.url.split("?")[1]);
      seen.push({ method: req.method, path: req.url, headers: req.rawHeaders.flatMap((v, i, all) => (i % 2 ? [] : [[v, all[i + 1]]])) });
      const r = respond?.(entry) ?? {};
      if (r.hang) return; // never answer: for timeout tests
      res.writeHead(r.status ?? 200, { "content-type": "application/scim+json", ...(r.headers ?? {}) });
      res.end(r.body ?? JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: 0, Resources: [] }));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  const origin = watch({
    url: `http://127.0.0.1:${port}/v2`,
    received,
    async stop() {
      if (!release(origin)) return;
      server.closeAllConnections();
      server.close();
      scanNowAndAtEnd(() => leaks.scanOriginHeaders(seen));
    },
  });
  return origin;
}

/**
 * An alert webhook on loopback, at a secret path (as a Slack webhook URL
 * holds its token). `mode`: "ok" records each alert and answers 200,
 * "hang" records it and never answers, "down" is a port nothing listens on.
 * Every alert body is scanned for secrets and query strings when it stops.
 */
export async function startWebhook({ mode = "ok" } = {}) {
  const alerts = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      alerts.push({ headers: req.headers, path: req.url, body: Buffer.concat(chunks).toString() });
      if (mode === "hang") return;
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  if (mode === "down") {
    server.close();
    await once(server, "close");
  }
  const url = `http://127.0.0.1:${port}/hook/${randomSecret()}`;
  leaks.secret("alert webhook URL", url);
  const webhook = watch({
    url,
    alerts,
    /** The alerts received so far, parsed. */
    received: () => alerts.map((a) => JSON.parse(a.body)),
    async stop() {
      if (!release(webhook)) return;
      server.closeAllConnections();
      if (mode !== "down") server.close();
      scanNowAndAtEnd(() => alerts.flatMap((a) => leaks.scanText(a.body, `an alert posted to the webhook`)));
    },
  });
  return webhook;
}

/**
 * The built Workers in workerd: the edge (`provgate`, build/) and the
 * control Worker (`provgate-control`, build/control/: the management API
 * and the Durable Objects it shares with the edge). `kv: false` removes the
 * edge's KEYS binding. Their log lines are scanned for secrets and query
 * strings when they stop. `vars` reach both Workers (each reads its own);
 * `doPersist` keeps the Durable Objects' storage in that directory.
 * `controlStandIns` is `standIns` for the control Worker (e.g. a KV that counts).
 * `standIns` replaces bindings with Workers that play them (to make a
 * dependency fail): `{ workers: [miniflare worker options with a name],
 * bindings: { wrappedBindings, durableObjects } }` for the edge.
 * `inspector: true` opens workerd's DevTools inspector on a loopback port
 * (`edge.mf.getInspectorURL()`), e.g. to measure the isolate's memory.
 * `buildDir` starts another build (bench/ab.mjs). `authFailureLimit` and
 * `discoveryLimit` set the AUTH_FAILURES and DISCOVERY_LIMIT bindings.
 *
 * Requests reach it over plain HTTP from loopback, which REQUIRE_HTTPS
 * allows, and without CF-Connecting-IP miniflare sets the socket's address,
 * as Cloudflare (and make dev's proxy) would. A test may still send
 * CF-Connecting-IP to play a remote client, as Cloudflare's edge would see
 * it: such a request is plain HTTP from a remote address, so it is refused
 * unless sent as https (`edge.mf.dispatchFetch("https://…")`) or the edge
 * runs with REQUIRE_HTTPS=false.
 */
/** Miniflare's options for a Worker that worker-build built into `dir`. */
export function wasmWorker(name, dir) {
  return {
    name,
    scriptPath: path.join(dir, "worker/shim.mjs"),
    modulesRoot: dir,
    modules: true,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-04-01",
  };
}

export async function startEdge({ originUrl, originAuthorization, pepper, kv = true, guard = true, kvPersist, doPersist, vars = {}, authFailureLimit = 100, discoveryLimit = 60, assets = false, captureLogs = true, standIns, controlStandIns, inspector = false, buildDir = path.join(ROOT, "build"), controlDir = path.join(ROOT, "build/control") }) {
  if (!captureLogs && underTest) throw new Error("captureLogs: false is for load runs: a test's edge keeps its logs for the leak scan");
  const logs = [];
  const bindings = { PEPPER: pepper, ORIGIN_URL: originUrl, SCIM_BASE_PATH: "/scim/v2", ORIGIN_SIGNING_SECRET: SIGNING_SECRET, ...vars };
  for (const [k, v] of Object.entries(bindings)) if (v === undefined) delete bindings[k];
  if (originAuthorization) bindings.ORIGIN_AUTHORIZATION = originAuthorization;
  registerSecrets(bindings);
  const edgeWorker = {
    ...wasmWorker("edge", buildDir),
    // The id matches wrangler.toml, so a store written by `wrangler kv … --local --persist-to` is shared.
    kvNamespaces: kv ? { KEYS: "REPLACE_WITH_KV_NAMESPACE_ID" } : {},
    durableObjects: guard ? { KEY_GUARD: { className: "KeyGuard", scriptName: "control" } } : {},
    serviceBindings: { CONTROL: "control" },
    // The connection doctor's static page, as `[assets]` serves it.
    ...(assets ? { assets: { directory: path.join(ROOT, "www"), routerConfig: { has_user_worker: true } } } : {}),
    ratelimits: {
      AUTH_FAILURES: { simple: { limit: authFailureLimit, period: 60 } },
      DISCOVERY_LIMIT: { simple: { limit: discoveryLimit, period: 60 } },
    },
    bindings,
    ...standIns?.bindings,
  };
  const controlWorker = {
    ...wasmWorker("control", controlDir),
    kvNamespaces: { KEYS: "REPLACE_WITH_KV_NAMESPACE_ID" },
    durableObjects: { KEY_GUARD: "KeyGuard", KEY_RECORDS: "KeyRecords" },
    ratelimits: edgeWorker.ratelimits,
    bindings,
    ...controlStandIns?.bindings,
  };
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    cf: false,
    kvPersist,
    durableObjectsPersist: doPersist,
    ...(inspector ? { inspectorPort: 0 } : {}),
    // Load runs leave the logs to workerd, as the JavaScript peers do.
    ...(captureLogs ? { handleStructuredLogs: (entry) => void logs.push(entry) } : {}),
    workers: [edgeWorker, controlWorker, ...(standIns?.workers ?? []), ...(controlStandIns?.workers ?? [])],
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const jsonLines = () =>
    logs
      .map((l) => l.message)
      .filter((m) => m.startsWith("{"))
      .map((m) => JSON.parse(m));
  // Audit lines carry a decision; other JSON lines are events such as new_source.
  const auditLines = () => jsonLines().filter((l) => "decision" in l);
  const eventLines = (reason) => jsonLines().filter((l) => !("decision" in l) && l.reason === reason);
  const edge = watch({
    mf,
    url,
    base: `${url}/scim/v2`,
    logs,
    auditLines,
    eventLines,
    /** The audit line of one request; logs arrive shortly after the response. */
    async auditFor(requestId) {
      for (let i = 0; i < 100; i++) {
        const line = auditLines().find((l) => l.request_id === requestId);
        if (line) return line;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no audit line for request ${requestId}`);
    },
    kv: kv ? await mf.getKVNamespace("KEYS") : null,
    async stop() {
      if (!release(edge)) return;
      await mf.dispose();
      scanNowAndAtEnd(() => leaks.scanLogs(logs));
    },
  });
  return edge;
}

/**
 * Mints a key with the real CLI offline (`--emit json`, checked against the
 * pepper's PEPPER_ID) and seeds its entries as `wrangler kv bulk put` would.
 * `edit(record)` may change the record before it is stored (its listing
 * summary is then left out, as for an entry written by hand).
 */
export async function mintKey(edge, pepper, { label = "test", tenant, scopes = "*", expires, allowIp, edit } = {}) {
  const args = ["key", "mint", "--emit", "json", "--label", label, "--scopes", scopes];
  if (allowIp) args.push("--allow-ip", allowIp);
  if (tenant) args.push("--tenant", tenant);
  if (expires) args.push("--expires", expires);
  const env = { PEPPER: pepper, PEPPER_ID: pepperId(pepper) };
  const run = spawnSync(CLI, args, { cwd: CLI_DIR, env: { ...cliEnv(), ...env }, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`provgate key mint failed: ${run.stderr}`);
  scanCliOutput(args, run.stdout + run.stderr, env);
  const entries = JSON.parse(run.stdout);
  const entry = entries.find((e) => e.key.startsWith("hash:"));
  const key = run.stderr.match(/key:\s+(pvk_\S+)/)[1];
  const keyId = run.stderr.match(/key id:\s+(key_\S+)/)[1];
  let record = JSON.parse(entry.value);
  if (edit) record = edit(record) ?? record;
  if (edge?.kv) {
    for (const e of entries.filter((e) => e !== entry)) await edge.kv.put(e.key, e.value, edit ? {} : { metadata: e.metadata });
    await edge.kv.put(entry.key, JSON.stringify(record));
  }
  return { key, keyId, name: entry.key, record };
}

/** The CLI runs from a directory of its own, not the repository: it must work from anywhere. */
export const CLI_DIR = mkdtempSync(path.join(tmpdir(), "provgate-cli-cwd-"));
process.on("exit", () => rmSync(CLI_DIR, { recursive: true, force: true }));

/** The environment the CLI runs in: this one without any of its own variables, and no wrangler on PATH. */
function cliEnv() {
  const env = { ...process.env };
  for (const name of ["PROVGATE_EDGE_URL", "PROVGATE_TOKEN", "PROVGATE_DEV_VARS", "PROVGATE_LOCAL_PORT", "PROVGATE_KEY", "PEPPER", "PEPPER_ID"]) delete env[name];
  env.PATH = (env.PATH ?? "").split(path.delimiter).filter((dir) => dir && !existsSync(path.join(dir, "wrangler"))).join(path.delimiter);
  return env;
}

/**
 * The management API of `edge` called with `token` (none: no
 * Authorization): `call(method, path, { body, headers, rawBody })` → the
 * answer (`{ status, headers, text, json }`). `body` is sent as JSON. Every
 * answer goes through the leak watch (a minted key or token may appear only
 * in the answer that mints it).
 */
export function apiClient(edge, token) {
  return async (method, path, { body, headers = {}, rawBody } = {}) => {
    const h = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers };
    let payload = rawBody;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === "content-type")) h["content-type"] = "application/json";
    }
    const res = await raw(`${edge.url}/_provgate/api/v1${path}`, { method, headers: h, body: payload });
    watchApiResponse(method, path, res.status, res.text);
    return res;
  };
}

/**
 * Waits, if need be, until `marginMs` remain in the current window of the
 * local rate-limiting bindings: miniflare counts in fixed windows aligned to
 * the clock, so a sequence that counts up to a limit must not straddle two.
 */
export async function clearOfWindowEdge(marginMs = 5_000, periodMs = 60_000) {
  const left = periodMs - (Date.now() % periodMs);
  if (left < marginMs) await new Promise((done) => setTimeout(done, left + 50));
}

/** A request with full control of headers (node:http, not fetch). */
export function raw(url, { method = "GET", headers = {}, body } = {}) {
  leaks.query(url.split("#")[0].split("?").slice(1).join("?"));
  if (body !== undefined && !Object.keys(headers).some((h) => /^(content-length|transfer-encoding)$/i.test(h))) {
    headers = { ...headers, "content-length": Buffer.byteLength(body) };
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * Runs the provgate CLI asynchronously, so that this process's event loop
 * (and the sockets of any origin it serves) keeps running meanwhile; from
 * `cwd` (default: a temporary directory, not the repository), with no
 * wrangler on PATH and stdin not a terminal. Resolves `{ status, stdout,
 * stderr, out, json() }`.
 */
export function runCli(args, env = {}, { cwd = CLI_DIR } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, args, { cwd, env: { ...cliEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.on("close", (status) => {
      clearTimeout(timer);
      try {
        scanCliOutput(args, stdout + stderr, env);
      } catch (leak) {
        return reject(leak);
      }
      resolve({ status, stdout, stderr, out: stdout + stderr, json: () => JSON.parse(stdout) });
    });
  });
}

/**
 * For a describe block: a recording origin and an edge in front of it,
 * started before its tests and stopped after. Read them from the returned
 * object inside the tests.
 */
export function recordingEdgeFixture(edgeOptions) {
  const fixture = {};
  before(async () => {
    fixture.origin = await startRecordingOrigin();
    fixture.edge = await startEdge({ originUrl: fixture.origin.url, ...edgeOptions });
  });
  after(async () => {
    await fixture.edge?.stop();
    await fixture.origin?.stop();
  });
  return fixture;
}

/**
 * Sends `bytes` (a Buffer: request line, headers and body exactly as given)
 * on a fresh TCP connection and reads one response. Resolves
 * `{ status, headers, text, json }`, or `{ closed: true }` if the server
 * hung up without answering; rejects if nothing complete arrives within
 * `timeoutMs`. For what node:http refuses to send (raw non-ASCII bytes).
 */
export function rawBytes(url, bytes, { timeoutMs = 10_000 } = {}) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    let received = Buffer.alloc(0);
    const finish = (result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", (c) => {
      received = Buffer.concat([received, c]);
      const response = parseResponse(received);
      if (response) finish(response);
    });
    socket.on("error", () => {}); // a reset ends the exchange like a close
    socket.on("close", () => finish(parseResponse(received, true) ?? { closed: true, bytes: received }));
    socket.write(bytes);
  });
}

/** One HTTP/1.1 response from `all`, or null while it is incomplete. */
function parseResponse(all, atClose = false) {
  const split = all.indexOf("\r\n\r\n");
  if (split < 0) return null;
  const [statusLine, ...lines] = all.subarray(0, split).toString("latin1").split("\r\n");
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  let body = all.subarray(split + 4);
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    body = unchunk(body);
    if (!body) return null;
  } else if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    if (body.length < length) return null;
    body = body.subarray(0, length);
  } else if (!atClose) {
    return null;
  }
  const text = body.toString();
  return { status: Number(statusLine.split(" ")[1]), headers, text, json: () => JSON.parse(text) };
}

/** The decoded body, or null until the last chunk has arrived. */
function unchunk(body) {
  const parts = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf("\r\n", at);
    if (eol < 0) return null;
    const size = parseInt(body.subarray(at, eol).toString(), 16);
    if (size === 0) return Buffer.concat(parts);
    if (!(size > 0) || body.length < eol + 2 + size + 2) return null;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}
