/**
 * `up()`: a fresh cluster in a state dir: stops what a previous run left there, plans the layout,
 * then starts etcd, the shards (through the cluster's ShardManager), redis and the apps.
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { findBinaries } from "./binaries.ts";
import { Cluster } from "./cluster.ts";
import { type Layout, processRefsIn, readLayout } from "./layout.ts";
import {
  checkUpOptions,
  layoutServices,
  planLayout,
  strategyNeedsRedis,
  type UpOptions,
} from "./plan.ts";
import { errorMessage, settleAll } from "./poll.ts";
import { checkPortsFree } from "./ports.ts";
import { makePgDir } from "./postgres/process.ts";
import { killTree, stopProcess } from "./processes.ts";
import { stopLeftoverPostmasters } from "./shards/manual.ts";
import { defaultStateDir, emptyTrash, moveAside, OWNED_ENTRIES, repoRoot } from "./state-dir.ts";
import { shardIds } from "./topology.ts";

/** Stops whatever a previous run (crashed or not) left behind: by its layout's PIDs, never by name. */
async function cleanupLeftovers(stateDir: string, log: (line: string) => void): Promise<void> {
  let old: Layout | null = null;
  try {
    old = await readLayout(stateDir);
  } catch (error) {
    // Another version's layout: stop every PID it recorded, without the niceties.
    log(`old layout not understood (${errorMessage(error)}); stopping the PIDs it names`);
    await settleAll(
      (await processRefsIn(stateDir)).map((ref) =>
        ref.group ? stopProcess(ref, { graceMs: 3_000 }) : killTree(ref),
      ),
    );
  }
  if (old && !old.stoppedAt) {
    log("stopping the previous run's processes (from its layout.json)");
    await new Cluster(old, log).down();
  }
  // Databases the old layout did not record (a crash between their start and the save).
  await stopLeftoverPostmasters(stateDir, log);
}

export type { UpOptions };

export async function up(options: UpOptions = {}): Promise<Cluster> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const stateDir = resolve(options.stateDir ?? defaultStateDir());
  checkUpOptions(options);

  await mkdir(stateDir, { recursive: true });
  await cleanupLeftovers(stateDir, log);
  // Renamed aside now, deleted once the new cluster is up: a large delete right before the
  // copies of the PostgreSQL template stalled them for seconds here (ext4 mounted with
  // `discard`: file creation waits behind the deleted blocks' discards at journal commit).
  await moveAside(stateDir, OWNED_ENTRIES);

  const binaries = await findBinaries({
    binDirs: options.binDirs,
    redis: options.redis ?? strategyNeedsRedis(options),
    patroni: options.ha === "patroni",
    install: options.install,
    log,
  });
  const layout = planLayout(options, { stateDir, repoRoot: repoRoot(), binaries });
  const cluster = new Cluster(layout, log, options.patroni);
  await checkPortsFree([...layoutServices(layout), ...cluster.shards.extraPorts()]);
  await cluster.shards.prepare();
  await makePgDir(join(stateDir, "logs"));
  await makePgDir(join(stateDir, "pg"));
  await cluster.save();

  const phase = (name: string) =>
    log(`${name} ready at ${((Date.now() - started) / 1000).toFixed(1)} s`);
  try {
    const etcdTask = cluster.startEtcdProcess().then(() => phase("etcd"));
    const redisTask = layout.redis ? cluster.startRedis() : null;
    // The edge needs nothing else to start and is the slowest: start it first, wait for it last.
    const edgeTask = layout.apps.edge ? cluster.startApp("edge").then(() => phase("edge")) : null;
    // Awaited last; a failure before then is reported by that await, not as unhandled.
    edgeTask?.catch(() => {});
    const shardTasks = shardIds(layout).map(async (shard) => {
      await cluster.shards.startShard(shard, etcdTask);
      phase(`shard ${shard} (PostgreSQL)`);
      const nodes = layout.nodes.filter((n) => n.shard === shard && n.gateway);
      if (nodes.length === 0) return;
      await settleAll(nodes.map((n) => cluster.startGateway(n)));
      phase(`gateways of ${shard}`);
    });
    await settleAll([etcdTask, redisTask, ...shardTasks]);
    await cluster.shards.writeTopology();
    const originTask = layout.apps.origin ? cluster.startApp("origin") : null;
    await settleAll([originTask?.then(() => phase("origin")) ?? null, edgeTask]);
  } catch (error) {
    log(`up failed, stopping what was started: ${errorMessage(error)}`);
    await cluster.down().catch((e: unknown) => log(`down after failure: ${errorMessage(e)}`));
    emptyTrash(stateDir, log);
    throw error;
  }
  log(`cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  emptyTrash(stateDir, log);
  return cluster;
}
