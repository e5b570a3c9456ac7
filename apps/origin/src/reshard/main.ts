import { parseArgs } from "node:util";
import { loadEnv } from "../env.ts";
import { defaultPatroniNamespace } from "../topology/patroni-source.ts";
import { ReshardEtcd } from "./etcd.ts";
import { Mover } from "./mover.ts";
import { describeStatus } from "./status.ts";

/**
 * The resharding mover, a command of the product (an operator runs it against production etcd
 * and shards; the local cluster's `add-shard` runs it too):
 *
 *   node apps/origin/src/reshard/main.ts start --add <shard> [--grace-seconds N]
 *   node apps/origin/src/reshard/main.ts resume | status | abort
 *
 * It reads the origin's environment (ETCD_ENDPOINTS, ETCD_PREFIX, TOPOLOGY_SOURCE,
 * PATRONI_NAMESPACE, PG_USER, PG_PASSWORD, PG_DATABASE, PG_CONNECT_TIMEOUT_MS). Exit codes: 0 done,
 * 1 failed (the resharding stays where it stopped: `resume` or `abort`), 2 bad usage.
 */

const USAGE =
  "usage: reshard start --add <shard> [--grace-seconds N] | resume [--grace-seconds N] | status | abort";

function fail(message: string, code = 1): never {
  console.error(`reshard: ${message}`);
  process.exit(code);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: { add: { type: "string" }, "grace-seconds": { type: "string" } },
    });
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`, 2);
  }
})();
const command = positionals[0];
if (positionals.length !== 1 || !["start", "resume", "status", "abort"].includes(command ?? "")) {
  fail(USAGE, 2);
}
const grace = values["grace-seconds"];
if (grace !== undefined && !/^\d{1,5}$/.test(grace)) fail("--grace-seconds takes 0–99999", 2);
if (command === "start" && !values.add) fail(`start needs --add <shard>\n${USAGE}`, 2);

let env: ReturnType<typeof loadEnv>;
try {
  env = loadEnv();
} catch (error) {
  fail(error instanceof Error ? error.message : String(error), 2);
}
const etcd = new ReshardEtcd({
  endpoints: env.ETCD_ENDPOINTS,
  prefix: env.ETCD_PREFIX,
  patroniNamespace:
    env.TOPOLOGY_SOURCE === "patroni"
      ? (env.PATRONI_NAMESPACE ?? defaultPatroniNamespace(env.ETCD_PREFIX))
      : null,
});
const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

if (command === "status") {
  try {
    console.log(await describeStatus(etcd));
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  } finally {
    etcd.close();
  }
  process.exit(0);
}

const mover = new Mover({
  etcd,
  log,
  pg: {
    user: env.PG_USER,
    password: env.PG_PASSWORD,
    database: env.PG_DATABASE,
    connectTimeoutMs: env.PG_CONNECT_TIMEOUT_MS,
  },
  ...(grace !== undefined ? { graceMs: Number(grace) * 1000 } : {}),
});
let code = 0;
try {
  if (command === "start") await mover.start(values.add as string);
  else if (command === "resume") await mover.resume();
  else await mover.abort();
} catch (error) {
  console.error(`reshard: ${error instanceof Error ? error.message : String(error)}`);
  code = 1;
} finally {
  await mover.close();
}
process.exit(code);
