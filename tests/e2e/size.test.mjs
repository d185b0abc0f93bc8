// The Workers' size budgets: what every cold start downloads and compiles.
// The SCIM edge (build/) is on every IdP request's path; the control Worker
// (build/control/: the management API and the Durable Objects every
// request's key guard runs in) has its own, larger budget. Size is
// deterministic for a given toolchain, so this is a plain test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { ROOT } from "./harness.mjs";

const KiB = 1024;
const BUDGETS = [
  // Workers' free plan allows 3 MiB (gzip) per Worker; these are far tighter on purpose.
  { name: "the edge (provgate)", dir: "build", gzip: 250 * KiB, raw: 640 * KiB },
  // The control Worker also serves OAuth's token endpoint and the authorization page's approval
  // (#18: ~60 KB gzip; in the edge they would take it past its budget), hence 384 KiB from 320.
  { name: "the control Worker (provgate-control)", dir: "build/control", gzip: 384 * KiB, raw: 960 * KiB },
];

for (const { name, dir, gzip: budget, raw: rawBudget } of BUDGETS) {
  test(`${name}'s release wasm stays within its size budget`, () => {
    const wasm = readFileSync(path.join(ROOT, dir, "index_bg.wasm"));
    const js = readFileSync(path.join(ROOT, dir, "index.js"));
    const gzip = gzipSync(wasm, { level: 9 }).length + gzipSync(js, { level: 9 }).length;
    console.log(`# ${dir}: wasm ${wasm.length} bytes raw; wasm + glue ${gzip} bytes gzip (budget ${budget})`);
    assert.ok(gzip <= budget, `${gzip} bytes gzip > ${budget}`);
    assert.ok(wasm.length <= rawBudget, `${wasm.length} bytes raw > ${rawBudget}`);
  });
}
