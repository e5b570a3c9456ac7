import { loadEnv, type OriginEnv } from "./env.ts";
import { startOrigin } from "./server.ts";

let env: OriginEnv;
try {
  env = loadEnv();
} catch (error) {
  // One line naming every bad variable, no stack: it is a configuration problem, not a bug.
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(2);
}
const origin = await startOrigin(env).catch((error: unknown) => {
  console.error(`origin: cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
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
