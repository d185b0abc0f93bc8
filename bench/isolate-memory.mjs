// The edge isolate's own memory, read through workerd's DevTools inspector
// (startEdge({ inspector: true })): the JavaScript heap after a full garbage
// collection, and the size of the wasm linear memory (which only grows, so
// a leak in the Rust code shows there). Unlike the process's RSS, neither
// includes what workerd's allocator keeps around. Needs a global WebSocket
// (Node ≥ 22, or Node 20 with --experimental-websocket).

/** Opens a DevTools session on the edge Worker's isolate. */
export async function inspectIsolate(edge, target = "core:user:edge") {
  if (typeof WebSocket !== "function") throw new Error("no global WebSocket: run node with --experimental-websocket");
  const url = await edge.mf.getInspectorURL();
  const ws = new WebSocket(`ws://${url.host}/${target}`);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`cannot open the inspector of ${target}`));
  });
  const pending = new Map();
  const contexts = [];
  let next = 1;
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.method === "Runtime.executionContextCreated") contexts.push(message.params.context.id);
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    message.error ? waiter.reject(new Error(`${message.error.message}`)) : waiter.resolve(message.result);
  };
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  return {
    /**
     * { heapBytes, wasmBytes } after a full garbage collection. workerd runs
     * the collection when the isolate next handles an event, so `poke()`
     * (one cheap request to the edge) is sent until it has.
     */
    async measure(poke) {
      await call("HeapProfiler.enable");
      let collected = false;
      const gc = call("HeapProfiler.collectGarbage").then(() => (collected = true));
      for (let i = 0; i < 50 && !collected; i++) await Promise.race([poke().then(() => sleep(50)), gc]);
      await gc;
      const { usedSize } = await call("Runtime.getHeapUsage");
      // Every WebAssembly.Memory in the isolate, found by its prototype.
      await call("Runtime.enable");
      for (let i = 0; i < 100 && contexts.length === 0; i++) await sleep(20);
      const contextId = contexts.at(-1);
      const proto = await call("Runtime.evaluate", { expression: "WebAssembly.Memory.prototype", contextId });
      const { objects } = await call("Runtime.queryObjects", { prototypeObjectId: proto.result.objectId });
      const sum = await call("Runtime.callFunctionOn", {
        objectId: objects.objectId,
        functionDeclaration: "function () { return this.reduce((n, m) => n + m.buffer.byteLength, 0); }",
        returnByValue: true,
      });
      await call("Runtime.releaseObjectGroup", { objectGroup: "" }).catch(() => {});
      await call("Runtime.disable");
      await call("HeapProfiler.disable");
      return { heapBytes: usedSize, wasmBytes: sum.result.value };
    },
    close: () => ws.close(),
  };
}
