/**
 * A throwaway redis-server for the Redis write-tracking strategy: no persistence, loopback only.
 */
import { connect } from "node:net";
import type { ServiceLayout } from "./layout.ts";
import { type Daemon, flags, spawnDaemon, waitForDaemon } from "./processes.ts";

export function spawnRedis(binary: string, service: ServiceLayout, dir: string): Daemon {
  return spawnDaemon({
    command: binary,
    args: flags({
      port: service.port,
      bind: "127.0.0.1",
      save: "",
      appendonly: "no",
      daemonize: "no",
      dir,
    }),
    cwd: dir,
    logFile: service.log,
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString("utf8").startsWith("+PONG")));
  });
}

export async function waitForRedis(service: ServiceLayout, daemon: Daemon): Promise<void> {
  await waitForDaemon(daemon, () => ping(service.port), {
    timeoutMs: 10_000,
    what: `redis-server on port ${service.port}`,
  });
}
