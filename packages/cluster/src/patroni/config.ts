/**
 * Patroni configuration for one member, as a plain object (pure: no I/O). Written as JSON, which
 * is valid YAML, so Patroni reads it without us depending on a YAML library.
 */

export interface PatroniNodeSpec {
  /** Member name, also the node id in the topology (`s0n0`): role-neutral, stable across failovers. */
  name: string;
  pgPort: number;
  restApiPort: number;
  /** The shard gateway serving this node, published in the member's tags as `gateway_url`. */
  gatewayUrl: string;
}

export interface PatroniTimings {
  /** Leader lease in seconds: a dead leader is replaced after at most about this long. */
  ttl: number;
  /** Seconds between two runs of Patroni's HA loop (the leader renews its lease each loop). */
  loopWait: number;
  /** Seconds Patroni retries DCS and PostgreSQL operations before giving up on a loop. */
  retryTimeout: number;
}

/**
 * A hard-killed leader is replaced after about `ttl` seconds (measurements in README.md).
 * Patroni's rule is `loop_wait + 2 × retry_timeout ≤ ttl`, so that a leader whose etcd call
 * needed its retries still renews the lease in time. `retry_timeout: 1` broke the HA loop on
 * these machines (DESIGN.md), so 2 is the floor, and ttl follows: 1 + 2 × 2 = 5.
 */
export const DEFAULT_PATRONI_TIMINGS: PatroniTimings = { ttl: 5, loopWait: 1, retryTimeout: 2 };

/** Throws a clear error for timings Patroni would accept but that make failover flap. */
export function checkTimings(t: PatroniTimings): void {
  for (const [name, value] of Object.entries(t)) {
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`${name} must be > 0 (got ${value})`);
  }
  if (!Number.isInteger(t.ttl) || !Number.isInteger(t.loopWait)) {
    throw new Error("ttl and loopWait are whole seconds for Patroni");
  }
  if (t.loopWait + 2 * t.retryTimeout > t.ttl) {
    throw new Error(
      `ttl (${t.ttl}) must be ≥ loopWait + 2 × retryTimeout (${t.loopWait + 2 * t.retryTimeout}): otherwise a leader that hits one slow etcd call loses its lease`,
    );
  }
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const MEMBER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function checkIdentifier(what: string, value: string): void {
  if (!IDENTIFIER.test(value)) {
    throw new Error(`${what} "${value}" must be a lower-case SQL identifier ([a-z_][a-z0-9_]*)`);
  }
}

export function checkNodes(nodes: readonly PatroniNodeSpec[]): void {
  if (nodes.length === 0) throw new Error("a Patroni shard needs at least one node");
  const seen = new Set<string | number>();
  for (const node of nodes) {
    if (!MEMBER_NAME.test(node.name)) {
      throw new Error(`member name "${node.name}" must be 1–64 of [A-Za-z0-9_-]`);
    }
    for (const key of [node.name, node.pgPort, node.restApiPort]) {
      if (seen.has(key)) throw new Error(`"${key}" is used twice among the shard's nodes`);
      seen.add(key);
    }
    for (const port of [node.pgPort, node.restApiPort]) {
      if (!Number.isInteger(port) || port < 1 || port > 65_535) {
        throw new Error(`member ${node.name}: port ${port} is not a TCP port`);
      }
    }
    const url = URL.parse(node.gatewayUrl);
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      throw new Error(`member ${node.name}: gatewayUrl "${node.gatewayUrl}" is not an http(s) URL`);
    }
  }
}

/** `http://127.0.0.1:2379` → `127.0.0.1:2379`, the form Patroni's `etcd3.hosts` wants. */
export function etcdHostsOf(urls: readonly string[]): { hosts: string[]; protocol: "http" } {
  const hosts = urls.map((raw) => {
    const url = URL.parse(raw);
    if (url?.protocol !== "http:" || !url.port) {
      throw new Error(`etcd URL "${raw}" must look like http://127.0.0.1:2379`);
    }
    return `${url.hostname}:${url.port}`;
  });
  if (hosts.length === 0) throw new Error("at least one etcd URL is needed");
  return { hosts, protocol: "http" };
}

export interface MemberConfigInput {
  scope: string;
  namespace: string;
  etcdUrls: readonly string[];
  node: PatroniNodeSpec;
  /** PostgreSQL data directory (Patroni runs initdb or a base backup into it). */
  dataDir: string;
  /** The member's private directory: unix socket, pgpass. */
  memberDir: string;
  pgBinDir: string;
  timings: PatroniTimings;
  synchronousMode: boolean;
  /** Executable run once by the bootstrapping leader with a connection string as last argument. */
  postBootstrap: string;
  /** Extra PostgreSQL parameters (bootstrap DCS config, so every member gets the same). */
  parameters?: Readonly<Record<string, string | number | boolean>>;
}

export type PatroniConfig = Record<string, unknown>;

/** PostgreSQL settings every member shares (stored in the DCS at bootstrap). */
export function sharedParameters(
  synchronousMode: boolean,
  extra: Readonly<Record<string, string | number | boolean>> = {},
): Record<string, string | number | boolean> {
  return {
    wal_level: "replica",
    hot_standby: "on",
    // pg_rewind needs hint bits in the WAL (or data checksums) to rejoin a former leader.
    wal_log_hints: "on",
    max_wal_senders: 10,
    max_replication_slots: 10,
    // Keeps a little WAL around so a replica back from a short outage catches up by streaming.
    wal_keep_size: "128MB",
    max_connections: 200,
    // A standby whose primary died sleeps up to this long between attempts to fetch WAL, and a
    // promote request that arrives during the sleep waited for its end: with the default 5s a
    // failover here sometimes took 10 s instead of 5 (the lock taken at once, the promotion 5 s
    // later). Retrying a dead loopback primary twice a second costs nothing.
    wal_retrieve_retry_interval: "500ms",
    // A replica reports its replay position every 10 s by default: GET /api/links/:code's
    // replicas/caughtUp reads it from pg_stat_replication.
    wal_receiver_status_interval: "1s",
    shared_buffers: "32MB",
    // With synchronous_mode Patroni names a synchronous standby; `local` keeps ordinary commits
    // asynchronous so only transactions that ask for `remote_apply` wait for the replica.
    ...(synchronousMode ? { synchronous_commit: "local" } : {}),
    ...extra,
  };
}

export function patroniMemberConfig(input: MemberConfigInput): PatroniConfig {
  const { node, timings } = input;
  const loopback = "127.0.0.1";
  return {
    scope: input.scope,
    namespace: input.namespace,
    name: node.name,
    restapi: {
      listen: `${loopback}:${node.restApiPort}`,
      connect_address: `${loopback}:${node.restApiPort}`,
    },
    etcd3: etcdHostsOf(input.etcdUrls),
    log: { level: "INFO", format: "%(asctime)s %(levelname)s: %(message)s" },
    bootstrap: {
      dcs: {
        ttl: timings.ttl,
        loop_wait: timings.loopWait,
        retry_timeout: timings.retryTimeout,
        // A replica more than 1 MiB behind never becomes leader on a failover (Patroni's default,
        // stated so the price of async replication is visible here).
        maximum_lag_on_failover: 1_048_576,
        synchronous_mode: input.synchronousMode,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: sharedParameters(input.synchronousMode, input.parameters),
        },
      },
      initdb: [{ encoding: "UTF8" }, "no-locale"],
      post_bootstrap: input.postBootstrap,
    },
    postgresql: {
      listen: `${loopback}:${node.pgPort}`,
      connect_address: `${loopback}:${node.pgPort}`,
      data_dir: input.dataDir,
      bin_dir: input.pgBinDir,
      pgpass: `${input.memberDir}/pgpass`,
      // pg_basebackup's default spread checkpoint made a replica's clone wait ~95 s here.
      basebackup: [{ checkpoint: "fast" }],
      // Local cluster: trust on loopback only (as the manual mode); credentials never leave it.
      pg_hba: [
        "local all all trust",
        `host all all ${loopback}/32 trust`,
        `host replication all ${loopback}/32 trust`,
      ],
      authentication: {
        superuser: { username: "postgres" },
        replication: { username: "replicator" },
        rewind: { username: "rewind_user" },
      },
      parameters: {
        // Per member: the default /var/run/postgresql would be shared by every node.
        unix_socket_directories: input.memberDir,
      },
    },
    // No hardware watchdog on these machines; `off` also silences a warning every HA loop.
    watchdog: { mode: "off" },
    tags: { gateway_url: node.gatewayUrl },
  };
}

/** JSON is a subset of YAML: Patroni's yaml.safe_load reads it as is. */
export function renderConfig(config: PatroniConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The script Patroni runs once after initdb: the application's role and database. */
export function postBootstrapScript(options: {
  pgBinDir: string;
  database: string;
  user: string;
}): string {
  checkIdentifier("database", options.database);
  checkIdentifier("user", options.user);
  return [
    "#!/bin/sh",
    "# Run by Patroni once, on the bootstrapping leader; $1 is a connection string.",
    "set -eu",
    `exec "${options.pgBinDir}/psql" "$1" -X -q -v ON_ERROR_STOP=1 \\`,
    `  -c 'CREATE ROLE ${options.user} LOGIN' \\`,
    // pg_stat_replication's state and positions are hidden from roles without pg_monitor:
    // `status` reads them as this role.
    `  -c 'GRANT pg_monitor TO ${options.user}' \\`,
    `  -c 'CREATE DATABASE ${options.database} OWNER ${options.user}' \\`,
    // pause-replay/resume-replay (tests, the consistency checker's faults) run as this role, in
    // its database: function privileges belong to each database's own catalog.
    `  -c '\\connect ${options.database}' \\`,
    `  -c 'GRANT EXECUTE ON FUNCTION pg_wal_replay_pause(), pg_wal_replay_resume() TO ${options.user}'`,
    "",
  ].join("\n");
}
