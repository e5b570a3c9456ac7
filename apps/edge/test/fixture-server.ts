/**
 * A real HTTP server standing in for the edge's upstreams in the workerd tests: shard gateways
 * (`/n/<nodeId>/links/<code>`, answers programmed per node and code) and the origin
 * (`/origin/...`, echoes the request and sets two cookies). It logs every request so tests can
 * count the subrequests the Worker made. Tests inside workerd drive it over HTTP (`/_control`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

interface Programmed {
  status: number;
  body: unknown;
  delayMs?: number;
}

interface LogEntry {
  node: string;
  path: string;
  method: string;
}

export interface FixtureServer {
  url: string;
  close(): Promise<void>;
}

const MAX_LOG = 50_000;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startFixtureServer(port = 0): Promise<FixtureServer> {
  // node id → code → answer; node id → "down" (503) | "hang" (never answers in time)
  const links = new Map<string, Map<string, Programmed>>();
  const nodeModes = new Map<string, "down" | "hang">();
  const log: LogEntry[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fixture");
    const path = url.pathname;
    if (path === "/_control/links" && req.method === "POST") {
      const p = JSON.parse(await readBody(req)) as Programmed & { node: string; code: string };
      let byCode = links.get(p.node);
      if (!byCode) {
        byCode = new Map();
        links.set(p.node, byCode);
      }
      byCode.set(p.code, { status: p.status, body: p.body, delayMs: p.delayMs });
      return send(res, 204, null);
    }
    if (path === "/_control/nodes" && req.method === "POST") {
      const p = JSON.parse(await readBody(req)) as { node: string; mode: "down" | "hang" | "up" };
      if (p.mode === "up") nodeModes.delete(p.node);
      else nodeModes.set(p.node, p.mode);
      return send(res, 204, null);
    }
    if (path === "/_control/log" && req.method === "GET") {
      const contains = url.searchParams.get("contains") ?? "";
      return send(
        res,
        200,
        log.filter((e) => e.path.includes(contains)),
      );
    }
    const gateway = /^\/n\/([^/]+)(\/.*)$/.exec(path);
    if (gateway) {
      const [, node = "", rest = ""] = gateway;
      if (log.length < MAX_LOG) log.push({ node, path: req.url ?? "", method: req.method ?? "" });
      const mode = nodeModes.get(node);
      if (mode === "down") return send(res, 503, { error: "database_unavailable" });
      if (mode === "hang") {
        // Longer than any per-attempt timeout the tests configure; the socket closes with the test.
        setTimeout(() => send(res, 503, { error: "too late" }), 5_000).unref();
        return;
      }
      const linkMatch = /^\/links\/([^/]+)$/.exec(rest);
      const programmed = linkMatch ? links.get(node)?.get(linkMatch[1] ?? "") : undefined;
      if (!programmed) return send(res, 404, { error: "not_found" });
      if (programmed.delayMs) {
        await new Promise((resolve) => setTimeout(resolve, programmed.delayMs));
      }
      return send(res, programmed.status, programmed.body);
    }
    if (path.startsWith("/origin")) {
      if (log.length < MAX_LOG)
        log.push({ node: "origin", path: req.url ?? "", method: req.method ?? "" });
      const body = await readBody(req);
      if (path === "/origin/api/moved") {
        res.writeHead(302, { location: "/api/elsewhere" });
        return void res.end();
      }
      res.writeHead(201, [
        ["content-type", "application/json"],
        ["set-cookie", "ryow_until=123; Path=/; HttpOnly; SameSite=Lax"],
        ["set-cookie", "other=1; Path=/"],
        ["x-origin", "yes"],
      ]);
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          cookie: req.headers.cookie ?? null,
          connection: req.headers.connection ?? null,
          forwardedHost: req.headers["x-forwarded-host"] ?? null,
          clientIp: req.headers["x-firstclick-client-ip"] ?? null,
          body,
        }),
      );
      return;
    }
    send(res, 404, { error: "fixture: no such route" });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: String(error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
