// A scriptable origin on raw TCP (node:net, 127.0.0.1 only), so that it can
// misbehave below HTTP: hang, reset, close, answer garbage or answer a lot.
// It parses just enough HTTP/1.1 to count every request it receives, with
// the edge's X-Request-Id, before it decides how to (mis)behave.
import { createServer } from "node:net";
import { once } from "node:events";

const OK_BODY = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}';

/** How the origin answers one request; `behave(request, socket)` may be async. */
export const behaviours = {
  ok: (_req, socket) => socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\ncontent-length: ${OK_BODY.length}\r\n\r\n${OK_BODY}`),
  /** Never answer; the socket stays open until the origin stops. */
  hang: () => {},
  /** Answer correctly, but only after `ms` (longer than the edge waits). */
  slow: (ms) => (req, socket) => setTimeout(() => !socket.destroyed && behaviours.ok(req, socket), ms),
  /** Read the request, then close the connection without a byte of answer. */
  close: (_req, socket) => socket.end(),
  /** Read the request, then abort the connection with a TCP RST. */
  reset: (_req, socket) => socket.resetAndDestroy(),
  /** Headers and part of the promised body (with a length, or chunked), then a TCP RST. */
  resetMidBody: ({ chunked = false } = {}) => (_req, socket) => {
    const part = Buffer.alloc(64 * 1024, "x");
    const framing = chunked ? "transfer-encoding: chunked" : "content-length: 1048576";
    socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\n${framing}\r\n\r\n`);
    if (chunked) socket.write(`${part.length.toString(16)}\r\n`);
    socket.write(chunked ? Buffer.concat([part, Buffer.from("\r\n")]) : part, () => setTimeout(() => socket.resetAndDestroy(), 50));
  },
  /** Headers of a chunked body, then silence. */
  stallAfterHeaders: (_req, socket) => socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\ntransfer-encoding: chunked\r\n\r\n"),
  /** Bytes that are not an HTTP response. */
  malformed: (_req, socket) => socket.end("HTTP/1.1 two hundred\r\n\0\u0001 no headers here\r\n\r\n"),
  /**
   * `size` bytes of body, written with backpressure. After `gateAfter` bytes
   * it waits for `gate` (a promise) before writing the rest: a test that
   * opens the gate only once the client has seen bytes proves the edge
   * streams (an edge that buffered the whole body would never pass them on).
   */
  huge: ({ size, chunked = false, chunk = 64 * 1024, gateAfter = Infinity, gate = Promise.resolve(), fill = (i) => i % 251 }) =>
    async (_req, socket) => {
      const framing = chunked ? "transfer-encoding: chunked" : `content-length: ${size}`;
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n${framing}\r\n\r\n`);
      const block = Buffer.alloc(chunk);
      let sent = 0;
      while (sent < size && !socket.destroyed) {
        if (sent >= gateAfter) {
          await gate;
          gateAfter = Infinity;
        }
        const n = Math.min(chunk, size - sent);
        for (let i = 0; i < n; i++) block[i] = fill(sent + i);
        const data = Buffer.from(block.subarray(0, n));
        const framed = chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), data, Buffer.from("\r\n")]) : data;
        if (!socket.write(framed)) await once(socket, "drain");
        sent += n;
      }
      if (chunked && !socket.destroyed) socket.write("0\r\n\r\n");
    },
};

/** Splits complete requests (head + Content-Length or chunked body) off `buffer`. */
function takeRequest(buffer) {
  const end = buffer.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const lines = buffer.subarray(0, end).toString("latin1").split("\r\n");
  const [method, target] = lines[0].split(" ");
  const headers = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let bodyEnd = end + 4;
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    const last = buffer.indexOf("0\r\n\r\n", bodyEnd);
    if (last < 0) return null;
    bodyEnd = last + 5;
  } else {
    bodyEnd += Number(headers["content-length"] ?? 0);
    if (buffer.length < bodyEnd) return null;
  }
  return { request: { method, target, headers, requestId: headers["x-request-id"] }, rest: buffer.subarray(bodyEnd) };
}

/**
 * Starts the origin. `behave` (a function of the request, or set later via
 * `origin.behave = …`) picks the behaviour of each request.
 */
export async function startFaultOrigin(behave = behaviours.ok) {
  const sockets = new Set();
  const origin = {
    behave,
    /** Every request received, in order: { method, target, headers, requestId, connection }. */
    requests: [],
    connections: 0,
    url: "",
    async stop() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
  const server = createServer((socket) => {
    const connection = ++origin.connections;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffer = Buffer.alloc(0);
    socket.on("data", (data) => {
      buffer = Buffer.concat([buffer, data]);
      for (let taken; (taken = takeRequest(buffer)); ) {
        buffer = taken.rest;
        origin.requests.push({ ...taken.request, connection });
        origin.behave(taken.request, socket);
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  origin.url = `http://127.0.0.1:${server.address().port}/v2`;
  return origin;
}

/** A loopback URL nobody listens on: connections are refused. */
export async function refusingOriginUrl() {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/v2`;
}
