import { loadEnv } from "./env.ts";
import { startOrigin } from "./server.ts";

const env = loadEnv();
const origin = await startOrigin(env);
console.log(`origin listening on ${origin.url}`);

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  console.log(`origin: ${signal}, closing`);
  // Bounded: whoever sent the signal may follow with SIGKILL anyway.
  const force = setTimeout(() => process.exit(0), 8_000);
  force.unref();
  origin.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(
        `origin: shutdown failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      process.exit(1);
    },
  );
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
