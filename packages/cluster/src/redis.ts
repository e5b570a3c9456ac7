/**
 * A throwaway redis-server for the Redis write-tracking strategy: no persistence, loopback only.
 */
import { connect } from "node:net";
import type { ServiceLayout } from "./layout.ts";
import { AbortPoll, poll } from "./poll.ts";
import { type Daemon, isAlive, spawnDaemon, tail } from "./processes.ts";

export function spawnRedis(binary: string, service: ServiceLayout, dir: string): Daemon {
  return spawnDaemon({
    command: binary,
    args: [
      "--port",
      String(service.port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--daemonize",
      "no",
      "--dir",
      dir,
    ],
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
  await poll(
    async () => {
      if (daemon.exitCode() !== null || !isAlive(daemon.ref)) {
        throw new AbortPoll(
          new Error(
            `redis-server exited early; last lines of its log:\n${await tail(service.log)}`,
          ),
        );
      }
      return (await ping(service.port)) ? true : undefined;
    },
    { timeoutMs: 10_000, what: `redis-server on port ${service.port}` },
  );
}
