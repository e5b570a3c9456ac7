#!/usr/bin/env -S npx tsx
/**
 * `npm run cluster -- <verb>` (or `npx tsx packages/cluster/src/cli.ts <verb>`): the local
 * cluster from a terminal. Every verb but `up` works on the cluster named by
 * `<state-dir>/layout.json`.
 */
import { parseArgs } from "node:util";
import { attach, type Cluster, type ClusterStatus } from "./cluster.ts";
import { layoutServices } from "./plan.ts";
import { errorMessage } from "./poll.ts";
import { isAlive } from "./processes.ts";
import { formatPatroniStatus, HA_ENV, type HaMode } from "./shards/patroni.ts";
import { deleteTrash } from "./state-dir.ts";
import { type UpOptions, up } from "./up.ts";

const USAGE = `usage: npm run cluster -- <verb> [options]

  up [--shards N] [--replicas R] [--base-port P] [--durability async|remote_apply]
     [--ha manual|patroni] [--redis] [--no-apps] [--env KEY=VALUE]… [--serve]
                                          start a fresh cluster (stops a previous one first)
  down                                    stop every process of the cluster
  status [--json]                         nodes (role, lag, pid), apps, etcd topology
  pause-replay <node> | resume-replay <node>
  kill <node>                             SIGKILL a PostgreSQL node (its gateway keeps running)
  restart-node <node>                     start a stopped/killed node again in its role
                                          (Patroni mode: it rejoins as a replica by pg_rewind)
  promote <node>                          promote a replica; one etcd transaction for its shard
  rejoin <node>                           pg_rewind a replaced primary back in as a replica
  switchover <shard> [candidate]          Patroni mode: planned switchover of a shard
  stop-etcd | start-etcd
  restart-apps [--env KEY=VALUE]…         restart origin and edge (--env replaces their extra env)
  add-shard [--replicas R] [--no-reshard] start shard s<N> (R replicas, default the cluster's),
                                          then run the resharding mover that adds it to the ring
  reshard-status | reshard-resume | reshard-abort
                                          the mover's status / resume / abort (its exit code)

common: --state-dir DIR (default <repo>/.firstclick)
--ha: default from $${HA_ENV} (manual when unset): FIRSTCLICK_HA=patroni npm run dev
--serve: stay in the foreground; Ctrl-C or SIGTERM stops everything.`;

function log(line: string): void {
  console.error(`[cluster] ${line}`);
}

function formatStatus(status: ClusterStatus): string {
  const lines: string[] = [];
  lines.push(
    `state dir  ${status.stateDir}${status.stoppedAt ? ` (stopped ${status.stoppedAt})` : ""}`,
  );
  const svc = (name: string, s: { url: string; pid: number | null; alive: boolean } | null) => {
    if (s)
      lines.push(`${name.padEnd(10)} ${s.url}  pid ${s.pid ?? "-"}  ${s.alive ? "up" : "DOWN"}`);
  };
  svc("etcd", status.etcd);
  svc("origin", status.origin);
  svc("edge", status.edge);
  svc("redis", status.redis);
  lines.push("");
  lines.push("node    shard  role      pg     pid      state      lsn          lag     gateway");
  for (const n of status.nodes) {
    const h = n.health;
    const actual = !n.alive
      ? "DOWN"
      : h.inRecovery === null
        ? "unreachable"
        : h.inRecovery
          ? h.replayPaused
            ? "paused"
            : "replica"
          : "primary";
    const lag = h.lagSeconds === null ? "-" : `${h.lagSeconds.toFixed(2)}s`;
    const gw = n.gateway ? `${n.gateway.url} ${n.gateway.alive ? "up" : "DOWN"}` : "-";
    lines.push(
      `${n.id.padEnd(7)} ${n.shard.padEnd(6)} ${n.role.padEnd(9)} ${String(n.pgPort).padEnd(6)} ${String(n.pid ?? "-").padEnd(8)} ${actual.padEnd(10)} ${(h.lsn ?? "-").padEnd(12)} ${lag.padEnd(7)} ${gw}`,
    );
    for (const s of h.streaming) lines.push(`        └ streaming to ${s.name} (${s.state})`);
  }
  lines.push("");
  if (status.patroni) lines.push(...formatPatroniStatus(status.patroni), "");
  if (status.topology) {
    const { ring, reshard, shards, version } = status.topology;
    lines.push(`etcd topology (revision ${version}), ring [${ring.shards.join(", ")}]`);
    if (reshard) {
      lines.push(
        `  resharding ${reshard.id}: ${reshard.phase}, [${reshard.from.shards.join(", ")}] → [${reshard.to.shards.join(", ")}] (reshard-status)`,
      );
    }
    for (const [shard, t] of Object.entries(shards)) {
      lines.push(
        `  ${shard}: primary ${t.primary?.id ?? "(none)"}, replicas [${t.replicas.map((r) => r.id).join(", ")}]`,
      );
    }
    const outside = [...new Set(status.nodes.map((n) => n.shard))].filter((s) => !shards[s]);
    if (outside.length > 0) lines.push(`  not in the ring: ${outside.join(", ")} (add-shard)`);
  } else {
    lines.push(`etcd topology: ${status.topologyError ?? "unknown"}`);
  }
  return lines.join("\n");
}

function printUrls(cluster: Cluster): void {
  const l = cluster.layout;
  console.log(`edge     ${cluster.urls.edge ?? "(not started)"}`);
  console.log(`origin   ${cluster.urls.origin ?? "(not started)"}`);
  console.log(`etcd     ${cluster.urls.etcd}`);
  if (cluster.urls.redis) console.log(`redis    ${cluster.urls.redis}`);
  for (const n of l.nodes) {
    console.log(
      `${n.id.padEnd(8)} ${n.role.padEnd(8)} ${n.pg.url}${n.gateway ? `  gateway ${n.gateway.url}` : ""}`,
    );
  }
  console.log(`logs     ${l.stateDir}/logs`);
}

class UsageError extends Error {}

/** The verbs that act on one node: `<verb> <node>`, and what they print. */
const NODE_VERBS: Record<string, (cluster: Cluster, node: string) => Promise<string | null>> = {
  "pause-replay": (c, n) => c.pauseReplay(n).then(() => null),
  "resume-replay": (c, n) => c.resumeReplay(n).then(() => null),
  kill: (c, n) => c.kill(n).then(() => null),
  "restart-node": (c, n) => c.restartNode(n).then(() => null),
  promote: (c, n) => c.promote(n).then((r) => `promoted; etcd revision ${r.revision}`),
  rejoin: (c, n) => c.rejoin(n).then((r) => `rejoined; etcd revision ${r.revision}`),
};
/** `reshard-<command>`: the resharding mover's command of that name, run against this cluster. */
const MOVER_VERBS: Record<string, string> = {
  "reshard-status": "status",
  "reshard-resume": "resume",
  "reshard-abort": "abort",
};
const VERBS = new Set([
  ...Object.keys(NODE_VERBS),
  "down",
  "status",
  "stop-etcd",
  "start-etcd",
  "restart-apps",
  "switchover",
  "add-shard",
  ...Object.keys(MOVER_VERBS),
]);

function haOption(value: string | undefined): HaMode | undefined {
  // The flag wins; the env var lets `npm run dev` default to Patroni.
  const ha = value ?? (process.env[HA_ENV] || undefined);
  if (ha === undefined || ha === "manual" || ha === "patroni") return ha;
  throw new UsageError(
    `${value === undefined ? HA_ENV : "--ha"} must be manual or patroni, got ${ha}`,
  );
}

/** `--env KEY=VALUE` (repeatable): extra env for origin and edge. */
function envOption(values: string[] | undefined): Record<string, string> | undefined {
  if (!values) return undefined;
  const env: Record<string, string> = {};
  for (const pair of values) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!match?.[1]) throw new UsageError(`--env takes KEY=VALUE, got ${pair}`);
    env[match[1]] = match[2] ?? "";
  }
  return env;
}

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got ${value}`);
  return n;
}

async function serve(cluster: Cluster): Promise<void> {
  printUrls(cluster);
  console.log("serving; Ctrl-C stops everything");
  await new Promise<void>((resolve) => {
    // Also what keeps this process alive: the children are detached and signal handlers alone
    // do not hold the event loop open.
    const reported = new Set<string>();
    const watch = setInterval(() => {
      // Other terminals may kill/promote/rejoin: pick up their layout changes first.
      cluster.reload().then(
        () => {
          for (const { what: name, process: ref } of layoutServices(cluster.layout)) {
            if (ref === undefined) continue;
            const alive = isAlive(ref);
            if (!alive && !reported.has(name)) {
              reported.add(name);
              log(`${name} (pid ${ref?.pid ?? "-"}) is not running; see ${cluster.stateDir}/logs`);
            } else if (alive && reported.delete(name)) {
              log(`${name} is running again (pid ${ref?.pid})`);
            }
          }
        },
        (error: unknown) => log(`reading the layout: ${errorMessage(error)}`),
      );
    }, 2_000);
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      clearInterval(watch);
      log(`${sig}: stopping the cluster`);
      cluster
        .down()
        .catch((error: unknown) => log(`down: ${errorMessage(error)}`))
        .finally(resolve);
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGHUP", () => stop("SIGHUP"));
  });
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "state-dir": { type: "string" },
      shards: { type: "string" },
      replicas: { type: "string" },
      "base-port": { type: "string" },
      durability: { type: "string" },
      ha: { type: "string" },
      redis: { type: "boolean" },
      "no-apps": { type: "boolean" },
      serve: { type: "boolean" },
      json: { type: "boolean" },
      "no-reshard": { type: "boolean" },
      env: { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
  });
  const verb = positionals[0];
  if (values.help || !verb) {
    console.log(USAGE);
    return verb || values.help ? 0 : 2;
  }
  const stateDir = values["state-dir"];
  if (verb === "up") {
    const durability = values.durability;
    if (durability !== undefined && durability !== "async" && durability !== "remote_apply") {
      throw new UsageError(`--durability must be async or remote_apply, got ${durability}`);
    }
    const options: UpOptions = {
      stateDir,
      shards: intOption(values.shards, "shards"),
      replicas: intOption(values.replicas, "replicas"),
      basePort: intOption(values["base-port"], "base-port"),
      durability,
      ha: haOption(values.ha),
      // Unset: redis only when a STRATEGY asks for it.
      redis: values.redis ? true : undefined,
      apps: values["no-apps"] ? false : undefined,
      env: envOption(values.env),
      log,
    };
    const cluster = await up(options);
    if (values.serve) {
      await serve(cluster);
    } else {
      printUrls(cluster);
      console.log("running in the background; `npm run cluster -- down` stops it");
      // The previous cluster's files, moved aside by up: finish deleting them before exiting.
      await deleteTrash(cluster.stateDir);
    }
    return 0;
  }
  if (!VERBS.has(verb)) throw new UsageError(`unknown verb ${verb}`);
  const nodeVerb = NODE_VERBS[verb];
  const node = positionals[1];
  if (nodeVerb && !node) throw new UsageError(`${verb} needs a node id, e.g. \`${verb} s0n1\``);
  const cluster = await attach(stateDir, { log });
  if (nodeVerb && node) {
    const output = await nodeVerb(cluster, node);
    if (output) console.log(output);
    return 0;
  }
  const moverCommand = MOVER_VERBS[verb];
  if (moverCommand) {
    const result = await cluster.reshard([moverCommand], (line) => console.log(line));
    return result.code;
  }
  switch (verb) {
    case "add-shard": {
      const replicas = intOption(values.replicas, "replicas");
      const id = await cluster.addShard({ replicas, reshard: !values["no-reshard"] });
      console.log(
        values["no-reshard"]
          ? `shard ${id} running and registered (not in the ring: no resharding)`
          : `shard ${id} added; resharding done`,
      );
      return 0;
    }
    case "down":
      await cluster.down();
      console.log("stopped");
      return 0;
    case "status": {
      const status = await cluster.status();
      console.log(values.json ? JSON.stringify(status, null, 2) : formatStatus(status));
      return 0;
    }
    case "stop-etcd":
      await cluster.stopEtcd();
      return 0;
    case "start-etcd":
      await cluster.startEtcd();
      return 0;
    case "switchover": {
      const shard = positionals[1];
      if (!shard) throw new UsageError("switchover needs a shard id, e.g. `switchover s0`");
      const result = await cluster.switchover(shard, positionals[2]);
      console.log(
        `switchover ${shard}: ${result.from} → ${result.to} (Patroni answered in ${result.answeredMs} ms, settled in ${result.settledMs} ms)`,
      );
      return 0;
    }
    case "restart-apps":
      // With --env: replaces the extra env of origin and edge; without: restarts them as they were.
      await cluster.restartApps(values.env ? { env: envOption(values.env) } : {});
      return 0;
    default:
      throw new UsageError(`unknown verb ${verb}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    console.error(`error: ${errorMessage(error)}`);
    process.exit(1);
  },
);
