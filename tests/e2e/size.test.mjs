// The Worker's size budget: what every cold start downloads and compiles.
// Size is deterministic for a given toolchain, so this is a plain test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { ROOT } from "./harness.mjs";

const BUDGET_GZIP = 250 * 1024; // bytes; the Workers free plan allows 1 MiB (gzip) for the whole script
const BUDGET_RAW = 640 * 1024;

test("the release wasm stays within its size budget", () => {
  const wasm = readFileSync(path.join(ROOT, "build/index_bg.wasm"));
  const js = readFileSync(path.join(ROOT, "build/index.js"));
  const gzip = gzipSync(wasm, { level: 9 }).length + gzipSync(js, { level: 9 }).length;
  console.log(`# wasm ${wasm.length} bytes raw; wasm + glue ${gzip} bytes gzip (budget ${BUDGET_GZIP})`);
  assert.ok(gzip <= BUDGET_GZIP, `${gzip} bytes gzip > ${BUDGET_GZIP}`);
  assert.ok(wasm.length <= BUDGET_RAW, `${wasm.length} bytes raw > ${BUDGET_RAW}`);
});
