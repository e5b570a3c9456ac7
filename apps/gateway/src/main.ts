import { serve } from "@hono/node-server";
import { createGatewayApp } from "./app.ts";
import { connect } from "./db.ts";
import { loadEnv } from "./env.ts";

const env = loadEnv();
const db = connect(env.GATEWAY_DATABASE_URL, {
  nodeId: env.GATEWAY_NODE_ID,
  poolMax: env.GATEWAY_POOL_MAX,
  statementTimeoutMs: env.GATEWAY_STATEMENT_TIMEOUT_MS,
});
const app = createGatewayApp({ db, nodeId: env.GATEWAY_NODE_ID });

const server = serve({ fetch: app.fetch, port: env.GATEWAY_PORT, hostname: env.GATEWAY_HOST }, () =>
  console.log(
    `gateway ${env.GATEWAY_NODE_ID} listening on http://${env.GATEWAY_HOST}:${env.GATEWAY_PORT}`,
  ),
);

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  console.log(`gateway ${env.GATEWAY_NODE_ID}: ${signal}, closing`);
  // Bounded: whoever sent the signal may follow with SIGKILL anyway.
  const force = setTimeout(() => process.exit(0), 3_000);
  force.unref();
  server.close(() => {
    db.end({ timeout: 2 }).then(
      () => process.exit(0),
      () => process.exit(0),
    );
  });
  // Keep-alive connections would hold close() open until the client drops them.
  if ("closeAllConnections" in server) server.closeAllConnections();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
