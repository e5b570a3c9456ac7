import type { TopologyNode } from "@firstclick/core";
import { reconnectBackoff } from "@firstclick/db";
import postgres, { type Sql } from "postgres";

/**
 * postgres.js pools for the stats module, one per node: shard primaries for the rollup writes
 * (`target_session_attrs: 'primary'`) and replicas for the stats reads (`'standby'`, so a
 * replica that has been promoted is refused rather than read: stats never load a primary).
 * A node that moved (new address) gets a fresh pool; `retainOnly` closes pools of nodes the
 * topology no longer names.
 */

export type NodeRole = "primary" | "standby";

export interface NodePoolsOptions {
  user: string;
  password?: string | undefined;
  database: string;
  poolMax: number;
  connectTimeoutMs: number;
  /** PostgreSQL's application_name of the connections (default `firstclick-origin-stats`). */
  applicationName?: string;
  logError?: (message: string) => void;
}

interface Pool {
  key: string;
  sql: Sql;
}

export class NodePools {
  readonly #pools = new Map<string, Pool>();
  readonly #o: NodePoolsOptions;

  constructor(options: NodePoolsOptions) {
    this.#o = options;
  }

  sql(node: TopologyNode, role: NodeRole): Sql {
    const id = `${role}:${node.id}`;
    const key = `${node.pg.host}:${node.pg.port}`;
    const existing = this.#pools.get(id);
    if (existing?.key === key) return existing.sql;
    if (existing) this.#close(id, existing);
    const client = postgres({
      host: node.pg.host,
      port: node.pg.port,
      user: this.#o.user,
      ...(this.#o.password !== undefined ? { password: this.#o.password } : {}),
      database: this.#o.database,
      max: this.#o.poolMax,
      connect_timeout: this.#o.connectTimeoutMs / 1000,
      idle_timeout: 60,
      target_session_attrs: role,
      backoff: reconnectBackoff,
      onnotice: () => {},
      connection: { application_name: this.#o.applicationName ?? "firstclick-origin-stats" },
    });
    this.#pools.set(id, { key, sql: client });
    return client;
  }

  #close(id: string, pool: Pool): void {
    this.#pools.delete(id);
    pool.sql.end({ timeout: 5 }).catch((error: unknown) => {
      (this.#o.logError ?? console.error)(
        `stats: closing the pool of ${id} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  }

  /** Keeps pools only for these nodes (the current topology's); closes the others. */
  retainOnly(nodes: readonly TopologyNode[]): void {
    const keep = new Map(nodes.map((n) => [n.id, `${n.pg.host}:${n.pg.port}`]));
    for (const [id, pool] of [...this.#pools]) {
      const nodeId = id.slice(id.indexOf(":") + 1);
      if (keep.get(nodeId) !== pool.key) this.#close(id, pool);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((p) => p.sql.end({ timeout: 5 })));
  }
}
