import type { AddressInfo } from "node:net";
import { DEFAULT_RYOW_WINDOW_SECONDS } from "@firstclick/core";
import { type ServerType, serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { createOriginApp } from "./app.ts";
import type { OriginEnv } from "./env.ts";
import { EdgePurgeClient } from "./links/edge-purge.ts";
import { PgLinkStore } from "./links/pg-store.ts";
import { RedisWriteTracker } from "./links/redis-tracker.ts";
import { TokenBucketLimiter } from "./rate-limit.ts";
import { createStatsDeps } from "./stats/index.ts";
import { EtcdTopologySource } from "./topology/etcd-source.ts";
import { defaultPatroniNamespace, PatroniTopologySource } from "./topology/patroni-source.ts";
import { EdgePublisher } from "./topology/publisher.ts";
import { ReshardAcks } from "./topology/reshard-acks.ts";
import { readSnapshotFile, SnapshotFileWriter } from "./topology/snapshot-file.ts";
import type { TopologySource } from "./topology/source.ts";
import { TopologyState } from "./topology/state.ts";
import { WriteGate } from "./topology/write-gate.ts";

/**
 * Wires the origin from its environment: topology source → state → (pools, edge publisher,
 * snapshot file), the link store, the HTTP server. main.ts adds signals; tests call this directly.
 */

export interface StartOriginOptions {
  log?: (message: string) => void;
  /** Replaces the source TOPOLOGY_SOURCE names (tests). */
  source?: TopologySource;
  /** How long to wait for the source's first snapshot before falling back to the file. */
  initialWaitMs?: number;
  publisherCheckIntervalMs?: number;
}

export interface RunningOrigin {
  url: string;
  state: TopologyState;
  store: PgLinkStore;
  publisher: EdgePublisher | null;
  /** Resharding acknowledgements in etcd; null when a test hands in its own source. */
  reshardAcks: ReshardAcks | null;
  snapshotFile: SnapshotFileWriter | null;
  close(): Promise<void>;
}

/** The rate-limit key: the trusted proxy header when configured, else the socket's peer. */
export function clientKeyFrom(header: string | undefined): (c: Context) => string {
  return (c) => {
    if (header) {
      // A proxy may append: the first entry is the client as the proxy saw it.
      const value = c.req.header(header)?.split(",")[0]?.trim().slice(0, 64);
      if (value) return value;
    }
    try {
      return getConnInfo(c).remote.address ?? "unknown";
    } catch {
      return "unknown";
    }
  };
}

function waitFor(state: TopologyState, ms: number): Promise<void> {
  if (state.current()) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    const off = state.onChange(done);
    function done() {
      clearTimeout(timer);
      off();
      resolve();
    }
  });
}

function listen(server: ServerType): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.once("listening", () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startOrigin(
  env: OriginEnv,
  o: StartOriginOptions = {},
): Promise<RunningOrigin> {
  const log = o.log ?? ((m: string) => console.error(`origin: ${m}`));
  const state = new TopologyState(log);

  const store = new PgLinkStore({
    user: env.PG_USER,
    password: env.PG_PASSWORD,
    database: env.PG_DATABASE,
    poolMax: env.PG_POOL_MAX,
    connectTimeoutMs: env.PG_CONNECT_TIMEOUT_MS,
    durability: env.DURABILITY,
    remoteApplyTimeoutMs: env.REMOTE_APPLY_TIMEOUT_MS,
    // Only the position strategy reads positions: the others do not pay the query per write.
    positions: env.STRATEGY.includes("position"),
    logError: log,
  });
  state.onChange((next, previous) => {
    const primaries = next.snapshot.ring.shards.flatMap((id) => next.primaryOf(id) ?? []);
    store.retainOnly(primaries);
    log(
      `topology version ${next.version}${previous ? ` (was ${previous.version})` : ""}: primaries ${primaries.map((n) => n.id).join(", ") || "none"}`,
    );
  });

  let publisher: EdgePublisher | null = null;
  if (env.EDGE_URL && env.INTERNAL_SECRET) {
    const p = new EdgePublisher({
      edgeUrl: env.EDGE_URL,
      secret: env.INTERNAL_SECRET,
      log,
      ...(o.publisherCheckIntervalMs ? { checkIntervalMs: o.publisherCheckIntervalMs } : {}),
    });
    state.onChange((next) => p.publish(next.snapshot));
    p.start();
    publisher = p;
  } else {
    log("EDGE_URL not set: topology snapshots are not published to an edge");
  }

  let snapshotFile: SnapshotFileWriter | null = null;
  if (env.TOPOLOGY_SNAPSHOT_FILE) {
    const writer = new SnapshotFileWriter(env.TOPOLOGY_SNAPSHOT_FILE, log);
    state.onChange((next) => writer.write(next.snapshot));
    snapshotFile = writer;
  }

  // Link writes in flight by topology version, and (with the origin's own etcd source) the
  // resharding acknowledgements that wait for them (topology/reshard-acks.ts).
  const writes = new WriteGate();
  const reshardAcks = o.source
    ? null
    : new ReshardAcks({
        endpoints: env.ETCD_ENDPOINTS,
        prefix: env.ETCD_PREFIX,
        originId: env.ORIGIN_ID,
        topology: state,
        writes,
        edge: publisher,
        log,
      });
  reshardAcks?.start();

  let source: TopologySource;
  if (o.source) {
    source = o.source;
  } else if (env.TOPOLOGY_SOURCE === "manual") {
    source = new EtcdTopologySource({
      endpoints: env.ETCD_ENDPOINTS,
      prefix: env.ETCD_PREFIX,
      log,
    });
  } else {
    source = new PatroniTopologySource({
      endpoints: env.ETCD_ENDPOINTS,
      prefix: env.ETCD_PREFIX,
      namespace: env.PATRONI_NAMESPACE ?? defaultPatroniNamespace(env.ETCD_PREFIX),
      log,
    });
  }
  source.start({
    snapshot: (s) => state.apply(s),
    status: (s) => state.setSourceStatus(s),
  });

  await waitFor(state, o.initialWaitMs ?? 2_000);
  if (!state.current() && env.TOPOLOGY_SNAPSHOT_FILE) {
    try {
      const snapshot = await readSnapshotFile(env.TOPOLOGY_SNAPSHOT_FILE);
      state.apply(snapshot);
      log(
        `etcd not answering: starting from ${env.TOPOLOGY_SNAPSHOT_FILE} (version ${snapshot.version})`,
      );
    } catch (error) {
      log(
        `cannot use ${env.TOPOLOGY_SNAPSHOT_FILE}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  if (!state.current()) log("no topology yet: creates answer 503 until etcd answers");

  const tracker =
    env.STRATEGY.includes("redis") && env.REDIS_URL
      ? new RedisWriteTracker(
          env.REDIS_URL,
          typeof env.RYOW_WINDOW_SECONDS === "number"
            ? env.RYOW_WINDOW_SECONDS
            : DEFAULT_RYOW_WINDOW_SECONDS,
          log,
        )
      : undefined;

  // Click rollups (writes to shard primaries, reads from replicas): pools of their own, so a
  // burst of stats reads never waits behind link writes.
  const stats = createStatsDeps({
    user: env.PG_USER,
    password: env.PG_PASSWORD,
    database: env.PG_DATABASE,
    poolMax: env.PG_POOL_MAX,
    connectTimeoutMs: env.PG_CONNECT_TIMEOUT_MS,
    logError: log,
    internalSecret: env.INTERNAL_SECRET ?? null,
    topology: state,
  });

  const app = createOriginApp({
    store,
    topology: state,
    rateLimiter: new TokenBucketLimiter({ perMinute: env.CREATE_RATE_LIMIT_PER_MINUTE }),
    clientKey: clientKeyFrom(env.CLIENT_IP_HEADER),
    config: {
      publicBaseUrl: env.PUBLIC_BASE_URL,
      ryowWindow: env.RYOW_WINDOW_SECONDS,
      ryowSecret: env.RYOW_SECRET,
      ryowPreviousSecret: env.RYOW_PREVIOUS_SECRET,
      positionTtlSeconds: env.RYOW_POSITION_TTL_SECONDS,
      adminKey: env.ADMIN_KEY,
    },
    tracker,
    edgePurge:
      env.EDGE_URL && env.INTERNAL_SECRET
        ? new EdgePurgeClient({ edgeUrl: env.EDGE_URL, secret: env.INTERNAL_SECRET, log })
        : undefined,
    stats: stats.deps,
    writes,
    edgeHas: (version) => !publisher || (publisher.status().edgeVersion ?? -1) >= version,
    logError: log,
  });

  const server = serve({ fetch: app.fetch, port: env.ORIGIN_PORT, hostname: env.ORIGIN_HOST });
  let address: AddressInfo;
  try {
    address = await listen(server);
  } catch (error) {
    await reshardAcks?.close();
    await source.close();
    await publisher?.close();
    await store.close();
    await tracker?.close();
    await stats.close();
    throw error;
  }
  const url = `http://${env.ORIGIN_HOST}:${address.port}`;

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections would hold close() open until clients drop them.
      if ("closeIdleConnections" in server) server.closeIdleConnections();
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 3_000))]);
      // Revokes the acknowledgement's lease: the mover stops counting this origin at once.
      await reshardAcks?.close();
      await source.close();
      await publisher?.close();
      await snapshotFile?.flush();
      await store.close();
      await tracker?.close();
      await stats.close();
    })();
    return closing;
  };

  return { url, state, store, publisher, reshardAcks, snapshotFile, close };
}
