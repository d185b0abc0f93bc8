// Stand-ins for the edge's bindings that fail on purpose, for startEdge's
// `standIns`: a KEYS namespace whose reads fail, a KEY_GUARD Durable Object
// class that fails. Each runs as its own Worker in the same workerd.

/** How a stand-in fails: synchronously, with a rejected promise, or by not answering for an hour. */
const FAILURES = {
  throw: `() => { throw new Error("stand-in failure"); }`,
  reject: `async () => { throw new Error("stand-in failure"); }`,
  hang: `() => new Promise((resolve) => setTimeout(resolve, 3_600_000))`,
};

/** KEYS as a wrapped binding whose every method fails in `mode`. */
export function failingKv(mode) {
  const script = `export default function () {
    const fail = ${FAILURES[mode]};
    return { get: fail, getWithMetadata: fail, put: fail, list: fail, delete: fail };
  }`;
  return {
    workers: [{ name: "failing-kv", modules: true, script }],
    bindings: { wrappedBindings: { KEYS: { scriptName: "failing-kv" } } },
  };
}

/** What a failing guard's fetch does: the FAILURES, or an answer the edge cannot use. */
const GUARD_FAILURES = {
  ...FAILURES,
  status500: `async () => new Response("internal error", { status: 500 })`,
  notJson: `async () => new Response("not json")`,
};

/** KEY_GUARD bound to a KeyGuard class (in another Worker) that fails in `mode`. */
export function failingGuard(mode) {
  const script = `import { DurableObject } from "cloudflare:workers";
    const fail = ${GUARD_FAILURES[mode]};
    export class KeyGuard extends DurableObject { fetch() { return fail(); } }
    export default { fetch: () => new Response(null, { status: 404 }) };`;
  return {
    workers: [{ name: "failing-guard", modules: true, compatibilityDate: "2026-04-01", script }],
    bindings: { durableObjects: { KEY_GUARD: { className: "KeyGuard", scriptName: "failing-guard" } } },
  };
}
