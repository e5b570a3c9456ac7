/**
 * Injects the planned faults into a running cluster, one at a time, and heals each one after
 * its hold (in `finally`, so an error or the end of the run never leaves a replica paused, a
 * node down or etcd stopped). Records a FaultEvent per fault.
 */
import { setTimeout as delay } from "node:timers/promises";
import { type Cluster, isAlive, type NodeLayout } from "@firstclick/cluster";
import type { Recorder } from "./client.ts";
import { type FaultEvent, isAcknowledged } from "./history.ts";
import type { PlannedFault } from "./schedule.ts";

export type HaMode = "manual" | "patroni";

export class FaultInjector {
  readonly events: FaultEvent[] = [];

  constructor(
    private readonly cluster: Cluster,
    private readonly recorder: Recorder,
    private readonly ha: HaMode,
    private readonly log: (line: string) => void,
  ) {}

  async run(plan: readonly PlannedFault[]): Promise<void> {
    for (const fault of plan) {
      const wait = fault.atMs - this.recorder.now();
      if (wait > 0) await delay(wait);
      await this.inject(fault);
    }
  }

  private shards(): string[] {
    return [...new Set(this.cluster.nodes.map((n) => n.shard))].sort();
  }

  /** The shard's current primary: the layout in manual mode, the gateways' view under Patroni. */
  private async primaryOf(shard: string): Promise<NodeLayout | null> {
    if (this.ha === "manual") return this.cluster.primaryOf(shard);
    for (const node of this.cluster.nodes.filter((n) => n.shard === shard)) {
      const health = await fetch(`${node.gatewayUrl}/health`, {
        signal: AbortSignal.timeout(3_000),
      })
        .then((r) => r.json() as Promise<{ role?: string }>)
        .catch(() => null);
      if (health?.role === "primary") return node;
    }
    return null;
  }

  private async replicasOf(shard: string): Promise<NodeLayout[]> {
    const primary = await this.primaryOf(shard);
    return this.cluster.nodes.filter(
      (n) =>
        n.shard === shard && n.id !== primary?.id && n.role !== "detached" && isAlive(n.pg.process),
    );
  }

  private async inject(fault: PlannedFault): Promise<void> {
    const shards = this.shards();
    const shard = fault.shard < 0 ? null : (shards[fault.shard % shards.length] ?? null);
    const event: FaultEvent = {
      type: "fault",
      kind: fault.kind,
      node: "",
      shard: fault.kind === "stop-etcd" ? null : shard,
      startMs: this.recorder.now(),
      endMs: 0,
    };
    const heal: (() => Promise<unknown>)[] = [];
    try {
      await this.start(fault, event, shard, shards, heal);
      this.log(`fault: ${fault.kind} ${event.node} ${shard ?? ""} for ${fault.holdMs} ms`);
      await delay(fault.holdMs);
    } catch (error) {
      event.error = error instanceof Error ? error.message : String(error);
      this.log(`fault ${fault.kind} failed: ${event.error}`);
    } finally {
      for (const step of heal.reverse()) {
        await step().catch((error: unknown) => {
          event.error = `${event.error ?? ""} heal: ${error instanceof Error ? error.message : String(error)}`;
          this.log(`healing ${fault.kind} ${event.node}: ${event.error}`);
        });
      }
      event.endMs = this.recorder.now();
      this.events.push(event);
    }
  }

  private async start(
    fault: PlannedFault,
    event: FaultEvent,
    shard: string | null,
    shards: readonly string[],
    heal: (() => Promise<unknown>)[],
  ): Promise<void> {
    const c = this.cluster;
    if (fault.kind === "stop-etcd") {
      event.node = "etcd";
      await c.stopEtcd();
      heal.push(() => c.startEtcd());
      return;
    }
    if (fault.kind === "pause-replay") {
      const targets: NodeLayout[] = [];
      for (const s of shard ? [shard] : shards) {
        const replicas = await this.replicasOf(s);
        targets.push(...(fault.allReplicas ? replicas : replicas.slice(0, 1)));
      }
      event.node = targets.map((n) => n.id).join(",");
      for (const node of targets) {
        await c.pauseReplay(node.id);
        heal.push(() => c.resumeReplay(node.id));
      }
      return;
    }
    if (!shard) throw new Error(`${fault.kind} needs a shard`);
    if (fault.kind === "kill-replica") {
      const [replica] = await this.replicasOf(shard);
      if (!replica) throw new Error(`no running replica in ${shard}`);
      event.node = replica.id;
      await c.kill(replica.id);
      heal.push(() => c.restartNode(replica.id));
      return;
    }
    const primary = await this.primaryOf(shard);
    const [replica] = await this.replicasOf(shard);
    if (!primary || !replica) throw new Error(`${shard} has no primary and running replica`);
    event.node = primary.id;
    const killedAt = this.recorder.now();
    event.startMs = killedAt;
    event.acknowledgedBefore = this.recorder.operations
      .filter((op) => op.shard === shard && isAcknowledged(op) && op.answeredMs <= killedAt)
      .map((op) => op.id);
    await c.kill(primary.id);
    if (this.ha === "patroni") {
      heal.push(() => c.restartNode(primary.id));
      return;
    }
    // An operator (or a tool) notices, then promotes: a second without a primary.
    await delay(1_000);
    event.promoted = replica.id;
    await c.promote(replica.id);
    heal.push(() => c.rejoin(primary.id));
  }
}
