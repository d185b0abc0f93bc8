// The fastest origin the benchmarks can have: an empty SCIM ListResponse
// from Node on loopback, so that what is measured is the edge.
import { createServer } from "node:http";
import { once } from "node:events";

export async function trivialOrigin() {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/scim+json" });
      res.end('{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}');
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { url: `http://127.0.0.1:${server.address().port}/v2`, stop: async () => server.close() };
}
