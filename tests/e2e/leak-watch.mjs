// The harness's leak watch: one registry per test file, fed by the harness
// with every secret and query string it hands out or sends, and the scans
// it runs — each edge's log lines and each origin's received headers when
// they stop, the CLI's output after every run, and all of them again at
// the end of the file against everything registered by then. A suite gets
// all of this by using the harness.
import { after } from "node:test";
import { createLeakRegistry, assertNoLeaks, withoutShownSecrets, secretShapes } from "./leaks.mjs";

export const leaks = createLeakRegistry();

/** True in a node:test run; load runs (bench/) import the harness too and get no hook. */
export const underTest = process.env.NODE_TEST_CONTEXT !== undefined || /\.test\.m?js$/.test(process.argv[1] ?? "");

/** The Worker's secrets (and the CLI's environment variables), by the kind a finding names. */
const SECRET_NAMES = {
  PEPPER: "pepper",
  PEPPER_PREVIOUS: "previous pepper",
  ORIGIN_SIGNING_SECRET: "signing secret",
  ORIGIN_SIGNING_SECRET_PREVIOUS: "previous signing secret",
  ORIGIN_AUTHORIZATION: "origin credential",
  ROOT_TOKEN: "root token",
  PROVGATE_TOKEN: "management token",
  PROVGATE_KEY: "minted key",
  ALERT_WEBHOOK_URL: "alert webhook URL",
  TOKEN_SIGNING_SECRET: "token signing secret",
  TOKEN_SIGNING_SECRET_PREVIOUS: "previous token signing secret",
};

/** Registers the secrets among Worker bindings or environment variables. */
export function registerSecrets(named) {
  for (const [name, kind] of Object.entries(SECRET_NAMES)) leaks.secret(kind, named[name]);
}

/** Edges and origins not stopped yet: the final sweep stops them, so a failed stop cannot hang the run. */
const running = new Set();
/** Every scan run at a stop, with what it reported then, run again at the end. */
const scans = [];

/** Runs a scan and throws on findings it has not reported before. */
function rescan(entry) {
  const fresh = entry.scan().filter((f) => !entry.reported.has(f));
  fresh.forEach((f) => entry.reported.add(f));
  assertNoLeaks(fresh);
}

/** An edge or origin that has started; its `stop()` must call `release` first. */
export function watch(resource) {
  running.add(resource);
  return resource;
}

/** False if `resource` was already stopped (so `stop()` may be called twice). */
export function release(resource) {
  return running.delete(resource);
}

/** Runs `scan` now and again at the end of the file; throws on a finding. */
export function scanNowAndAtEnd(scan) {
  const entry = { scan, reported: new Set() };
  scans.push(entry);
  rescan(entry);
}

/**
 * The CLI's output must not show a pepper, the origin credential, a signing
 * secret, a root or management token or any key, with one deliberate
 * exception: the secret that `key mint`, `key rotate` and `token mint`
 * create, shown once on their `key:`/`token:` line or in their JSON
 * answer. That secret is cut out and registered, and the rest scanned —
 * for every registered secret and for anything shaped like a key or token —
 * so a key anywhere else, or in any other command's output, is caught.
 */
export function scanCliOutput(args, output, env) {
  registerSecrets(env);
  const command = args.slice(0, 2).join(" ");
  const { kind, shown, rest } = withoutShownSecrets(output, command);
  for (const secret of shown) leaks.secret(kind, secret);
  const where = `the output of provgate ${command}`;
  assertNoLeaks([...leaks.scanText(rest, where), ...secretShapes(rest, where)]);
}

/**
 * A management API response: a minted key or token may appear only in the
 * answer that mints it (`POST /keys`, `POST /keys/{id}/rotate`,
 * `POST /tokens`: registered here, so that it is looked for everywhere
 * else from then on); every other answer is scanned for every secret.
 */
export function watchApiResponse(method, path, status, text) {
  const minting = method === "POST" && status === 201 && /^\/(keys(\/key_[0-9A-Za-z]+\/rotate)?|tokens)$/.test(path.split("?")[0]);
  if (minting) {
    const body = JSON.parse(text);
    if (body.key) leaks.secret("minted key", body.key);
    if (body.token) leaks.secret("management token", body.token);
    const { key, token, ...rest } = body;
    assertNoLeaks(leaks.scanText(JSON.stringify(rest), `the answer to ${method} ${path.split("?")[0]} (besides its new key or token)`));
    return;
  }
  assertNoLeaks(leaks.scanText(text, `the answer to ${method} ${path.split("?")[0]} (${status})`));
}

if (underTest) {
  // On the file's root: after all its tests (and before its own root-level `after`).
  after(async () => {
    const failures = [];
    for (const resource of [...running]) await resource.stop().catch((e) => failures.push(e.message));
    const c = leaks.counts();
    console.log(`leak scan: ${c.logLines} log lines, ${c.originRequests} origin requests, ${c.texts} CLI outputs and API answers; ${c.secrets} secrets, ${c.queryFragments} query fragments`);
    for (const entry of scans) {
      try {
        rescan(entry);
      } catch (e) {
        failures.push(e.message);
      }
    }
    if (failures.length > 0) throw new Error(failures.join("\n"));
  });
}
