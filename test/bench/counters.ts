/**
 * The servers' own counters, read before and after a load run: each gateway's `linkReads`
 * (GET /health) and Redis's INFO (commandstats, stats). The network calls a redirect made are
 * counted where they arrived, not assumed from the code that sends them.
 */
import type { Cluster } from "@firstclick/cluster";
import { createClient } from "redis";

export interface GatewayReads {
  /** linkReads by node id. */
  byNode: Record<string, number>;
  /** Role of each node (primary/replica as the layout says). */
  roles: Record<string, "primary" | "replica">;
}

export async function gatewayReads(cluster: Cluster): Promise<GatewayReads> {
  const byNode: Record<string, number> = {};
  const roles: Record<string, "primary" | "replica"> = {};
  await Promise.all(
    cluster.nodes.map(async (node) => {
      if (node.role === "detached") return;
      const res = await fetch(`${node.gatewayUrl}/health`, { signal: AbortSignal.timeout(5_000) });
      const body = (await res.json()) as { linkReads?: unknown };
      if (typeof body.linkReads !== "number") {
        throw new Error(`gateway ${node.id}: /health has no linkReads (HTTP ${res.status})`);
      }
      byNode[node.id] = body.linkReads;
      roles[node.id] = node.role;
    }),
  );
  return { byNode, roles };
}

export interface ReadsDelta {
  total: number;
  primary: number;
  replica: number;
  byNode: Record<string, number>;
}

export function readsDelta(before: GatewayReads, after: GatewayReads): ReadsDelta {
  const delta: ReadsDelta = { total: 0, primary: 0, replica: 0, byNode: {} };
  for (const [id, n] of Object.entries(after.byNode)) {
    const d = n - (before.byNode[id] ?? 0);
    delta.byNode[id] = d;
    delta.total += d;
    if (after.roles[id] === "primary") delta.primary += d;
    else delta.replica += d;
  }
  return delta;
}

export interface RedisCounters {
  /** cmdstat_get calls. */
  get: number;
  /** Every command (the INFO calls of this module included: subtracted in the delta). */
  commands: number;
  connections: number;
  /** Calls per command name, from INFO commandstats. */
  byCommand: Record<string, number>;
}

export type RedisClient = ReturnType<typeof createClient>;

export async function connectRedis(url: string): Promise<RedisClient> {
  const client = createClient({ url, socket: { connectTimeout: 5_000, reconnectStrategy: false } });
  client.on("error", () => {
    // surfaced by the failing command instead
  });
  await client.connect();
  return client;
}

function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

export async function redisCounters(client: RedisClient): Promise<RedisCounters> {
  // One INFO call per snapshot: "stats" and "commandstats" together.
  const text = String(await client.sendCommand(["INFO", "stats", "commandstats"]));
  const fields = infoFields(text);
  const byCommand: Record<string, number> = {};
  for (const [key, value] of fields) {
    if (!key.startsWith("cmdstat_")) continue;
    const calls = /calls=(\d+)/.exec(value)?.[1];
    if (calls) byCommand[key.slice("cmdstat_".length)] = Number(calls);
  }
  return {
    get: byCommand.get ?? 0,
    commands: Number(fields.get("total_commands_processed") ?? 0),
    connections: Number(fields.get("total_connections_received") ?? 0),
    byCommand,
  };
}

export interface RedisDelta {
  get: number;
  /** Commands other than INFO (the benchmark's own reads of these counters). */
  commands: number;
  connections: number;
  byCommand: Record<string, number>;
}

export function redisDelta(before: RedisCounters, after: RedisCounters): RedisDelta {
  const byCommand: Record<string, number> = {};
  for (const [name, n] of Object.entries(after.byCommand)) {
    const d = n - (before.byCommand[name] ?? 0);
    if (d !== 0 && name !== "info") byCommand[name] = d;
  }
  return {
    get: after.get - before.get,
    commands: Object.values(byCommand).reduce((sum, n) => sum + n, 0),
    // The benchmark's own client keeps one connection open: anything new is someone else's.
    connections: after.connections - before.connections,
    byCommand,
  };
}
