/**
 * `add-shard`: one more shard in a running cluster. Its nodes get the next node indices (so
 * their ports follow the layout's, after every existing node), are started and migrated by the
 * cluster's ShardManager, recorded in layout.json (status, down, kill, promote… see them) and,
 * in manual mode, published in etcd without touching the ring. Then the product's resharding
 * mover moves the new shard's share of the links (reshard.ts), unless `reshard: false`.
 */
import type { Layout, NodeLayout } from "./layout.ts";
import { planNode } from "./plan.ts";
import { errorMessage, settleAll } from "./poll.ts";
import { checkPortsFree, MAX_NODES, type NamedPort, shardId } from "./ports.ts";
import { isAlive, stopProcess } from "./processes.ts";
import { lastLines, runMover } from "./reshard.ts";
import type { ShardHost, ShardManager } from "./shards/manager.ts";

export interface AddShardOptions {
  /** Streaming replicas of the new shard (default: the cluster's replicas per shard). */
  replicas?: number;
  /** `false`: only start and register the shard, no resharding (default `true`). */
  reshard?: boolean;
  /** The mover's serving-phase grace period in seconds (`--grace-seconds`; mover default 30). */
  graceSeconds?: number;
}

/** What add-shard needs of a Cluster. */
export interface AddShardHost extends ShardHost {
  readonly shards: ShardManager;
}

/** Throws a clear error when the cluster cannot take a shard with `replicas` replicas now. */
function checkCanAdd(layout: Layout, replicas: number): void {
  if (layout.stoppedAt) throw new Error("the cluster is stopped: run `up` first");
  if (!isAlive(layout.etcd.process)) throw new Error("etcd is not running: `start-etcd` first");
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new Error(`replicas must be an integer ≥ 0, got ${replicas}`);
  }
  if (layout.ha === "patroni" && replicas < 1) {
    throw new Error("Patroni mode needs at least one replica per shard");
  }
  if (layout.durability === "remote_apply" && replicas < 1) {
    throw new Error("durability remote_apply needs at least one replica per shard");
  }
}

/** The new shard's id (`s<N>`, N = shards in the layout) and its nodes, planned like `up`'s. */
export function planShard(layout: Layout, replicas: number): { id: string; nodes: NodeLayout[] } {
  const s = layout.shards;
  const id = shardId(s);
  if (layout.nodes.some((n) => n.shard === id)) {
    throw new Error(`the layout already has nodes of shard ${id}`);
  }
  const first = Math.max(-1, ...layout.nodes.map((n) => n.index)) + 1;
  if (first + replicas >= MAX_NODES) {
    throw new Error(
      `at most ${MAX_NODES} PostgreSQL nodes per cluster: ${layout.nodes.length} + ${1 + replicas} is too many`,
    );
  }
  const context = {
    basePort: layout.basePort ?? undefined,
    stateDir: layout.stateDir,
    // Gateways when the cluster runs them (every node has one, or none has).
    withGateway: layout.nodes.some((n) => n.gateway !== null),
  };
  const nodes = Array.from({ length: 1 + replicas }, (_, n) => planNode(context, s, n, first + n));
  return { id, nodes };
}

/** Starts and registers one more shard, then (by default) runs the resharding that adds it. */
export async function addShard(host: AddShardHost, options: AddShardOptions = {}): Promise<string> {
  const layout = host.layout;
  const replicas = options.replicas ?? layout.replicas;
  checkCanAdd(layout, replicas);
  const grace = options.graceSeconds;
  if (grace !== undefined && !(Number.isInteger(grace) && grace >= 0)) {
    throw new Error(`graceSeconds must be an integer ≥ 0, got ${grace}`);
  }
  const { id, nodes } = planShard(layout, replicas);
  const started = Date.now();
  const taken = new Set(host.shards.extraPorts().map((p) => p.port));
  layout.nodes.push(...nodes);
  layout.shards += 1;
  let starting = false;
  try {
    const ports: NamedPort[] = nodes.flatMap((n) => [
      { port: n.pg.port, what: `PostgreSQL ${n.id}` },
      ...(n.gateway ? [{ port: n.gateway.port, what: `gateway ${n.id}` }] : []),
    ]);
    const extra = host.shards.extraPorts().filter((p) => !taken.has(p.port));
    await checkPortsFree([...ports, ...extra]);
    await host.save();
    host.log(`adding shard ${id}: ${nodes.map((n) => `${n.id} :${n.pg.port}`).join(", ")}`);
    starting = true;
    await host.shards.addShard(id);
    await settleAll(nodes.filter((n) => n.gateway).map((n) => host.startGateway(n)));
  } catch (error) {
    host.log(`add-shard ${id} failed, removing it: ${errorMessage(error)}`);
    await undo(host, id, nodes, starting).catch((e: unknown) =>
      host.log(`removing ${id}: ${errorMessage(e)}`),
    );
    throw error;
  }
  host.log(`shard ${id} running in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (options.reshard === false) return id;

  host.log(`resharding: mover start --add ${id}`);
  const args = [
    "start",
    "--add",
    id,
    ...(grace !== undefined ? ["--grace-seconds", String(grace)] : []),
  ];
  const result = await runMover(layout, args, {
    onLine: (line) => host.log(`mover: ${line}`),
  });
  if (result.code !== 0) {
    throw new Error(
      `the resharding mover exited with code ${result.code} (shard ${id} stays running and registered; see reshard-status, reshard-resume, reshard-abort):\n${lastLines(result.output)}`,
    );
  }
  return id;
}

/** A failed add: the shard's processes stopped, its data and keys deleted, the layout as before. */
async function undo(
  host: AddShardHost,
  id: string,
  nodes: readonly NodeLayout[],
  started: boolean,
): Promise<void> {
  const layout = host.layout;
  try {
    if (started) {
      await settleAll(
        nodes.map((n) => stopProcess(n.gateway?.process ?? null, { graceMs: 3_000 })),
      );
      await host.shards.removeShard(id);
    }
  } finally {
    layout.nodes = layout.nodes.filter((n) => n.shard !== id);
    layout.shards -= 1;
    await host.save();
  }
}
