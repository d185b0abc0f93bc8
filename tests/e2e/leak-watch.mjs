// The harness's leak watch: one registry per test file, fed by the harness
// with every secret and query string it hands out or sends, and the scans
// it runs — each edge's log lines and each origin's received headers when
// they stop, the CLI's output after every run, and all of them again at
// the end of the file against everything registered by then. A suite gets
// all of this by using the harness.
import { after } from "node:test";
import { createLeakRegistry, assertNoLeaks, withoutShownKeys } from "./leaks.mjs";

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
  ADMIN_TOKEN: "admin token",
  ALERT_WEBHOOK_URL: "alert webhook URL",
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
 * secret, the admin token or any key, with one deliberate exception: the
 * `key:` line of `key mint` / `key rotate`, the one place a new key is
 * shown (once, to the operator). That line is cut out, its key registered,
 * and the rest scanned, so a key anywhere else in the output is caught.
 */
export function scanCliOutput(args, output, env) {
  registerSecrets(env);
  const { keys, rest } = withoutShownKeys(output);
  for (const key of keys) leaks.secret("minted key", key);
  assertNoLeaks(leaks.scanText(rest, `the output of provgate ${args.slice(0, 2).join(" ")}`));
}

if (underTest) {
  // On the file's root: after all its tests (and before its own root-level `after`).
  after(async () => {
    const failures = [];
    for (const resource of [...running]) await resource.stop().catch((e) => failures.push(e.message));
    const c = leaks.counts();
    console.log(`leak scan: ${c.logLines} log lines, ${c.originRequests} origin requests, ${c.texts} CLI outputs; ${c.secrets} secrets, ${c.queryFragments} query fragments`);
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
