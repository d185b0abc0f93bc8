// make dev's front door on loopback: what Cloudflare's edge does to the
// client's address, done in front of `wrangler dev`.
//
// Cloudflare overwrites CF-Connecting-IP (and X-Forwarded-For) with the
// address the request came from. `wrangler dev` does not: its miniflare
// entry worker sets CF-Connecting-IP only when the client sent none, and
// its proxy worker passes a client-sent one on (stripCfConnectingIp: false),
// so locally a client could pick its own address and walk past allow_ips,
// the failed-attempt throttle and REQUIRE_HTTPS's loopback exception.
// miniflare also honours a client-sent MF-Original-URL as the URL the Worker
// sees (scheme included). This proxy sets the first two from the socket and
// drops every MF-* header, then relays the request and response unchanged.
//
//   node scripts/client-address-proxy.mjs LISTEN_PORT TARGET_PORT
import { createServer, request, Agent } from "node:http";
import { once } from "node:events";
import { pathToFileURL } from "node:url";

/** Headers a client may not choose: the proxy sets or drops them. */
const CLIENT_CHOSEN = (name) => /^(cf-connecting-ip|x-forwarded-for|x-real-ip|true-client-ip|mf-.*)$/i.test(name);

/** The socket's address as Cloudflare writes it (an IPv4 client without its ::ffff: prefix). */
const addressOf = (socket) => (socket.remoteAddress ?? "").replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1");

/**
 * Listens on 127.0.0.1:`listenPort` (0: any free port) and relays to
 * 127.0.0.1:`targetPort`. Resolves the server; `server.address().port` is the port.
 */
export async function startClientAddressProxy({ listenPort = 0, targetPort }) {
  const agent = new Agent({ keepAlive: true });
  const server = createServer((incoming, outgoing) => {
    const headers = [];
    for (let i = 0; i < incoming.rawHeaders.length; i += 2) {
      if (!CLIENT_CHOSEN(incoming.rawHeaders[i])) headers.push(incoming.rawHeaders[i], incoming.rawHeaders[i + 1]);
    }
    const client = addressOf(incoming.socket);
    headers.push("CF-Connecting-IP", client, "X-Forwarded-For", client);
    const upstream = request({ host: "127.0.0.1", port: targetPort, method: incoming.method, path: incoming.url, headers, agent }, (answer) => {
      outgoing.writeHead(answer.statusCode, answer.statusMessage, answer.rawHeaders);
      answer.pipe(outgoing);
    });
    upstream.on("error", () => {
      if (!outgoing.headersSent) outgoing.writeHead(502, { "content-type": "text/plain" });
      outgoing.end("make dev: the local edge is not answering\n");
    });
    incoming.pipe(upstream);
  });
  server.listen(listenPort, "127.0.0.1");
  await once(server, "listening");
  server.on("close", () => agent.destroy());
  return server;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [listenPort, targetPort] = process.argv.slice(2).map(Number);
  if (!listenPort || !targetPort) {
    console.error("usage: node scripts/client-address-proxy.mjs LISTEN_PORT TARGET_PORT");
    process.exit(2);
  }
  await startClientAddressProxy({ listenPort, targetPort });
  console.log(`[dev] 127.0.0.1:${listenPort} → 127.0.0.1:${targetPort}, CF-Connecting-IP set from the socket`);
}
