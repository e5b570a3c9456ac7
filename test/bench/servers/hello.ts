/**
 * The floor of a Node HTTP server on this machine: node:http answering "hello" to everything.
 * The gateway is measured against it in the same run (test/bench/sections/gateway.ts).
 * Run as its own process: `node test/bench/servers/hello.ts <port>` (Node 24 strips the types).
 */
import { createServer } from "node:http";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`usage: hello.ts <port>, got ${process.argv[2] ?? "nothing"}`);
  process.exit(2);
}
const server = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain" });
  res.end("hello");
});
server.listen(port, "127.0.0.1", () => console.log(`hello on http://127.0.0.1:${port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
