/**
 * The part of layout.json that describes Patroni mode (`up --ha patroni`): every shard's Patroni
 * scope with its members (ports, data dirs, the Patroni PID and start time), as the patroni
 * module's `PatroniShard` handle, so a CLI verb in another process can act on it.
 */
import { z } from "zod";

export const HA_MODES = ["manual", "patroni"] as const;
export type HaMode = (typeof HA_MODES)[number];

const PatroniProcessSchema = z.object({ pid: z.number().int(), startTicks: z.string().nullable() });

const TimingsSchema = z.object({
  ttl: z.number(),
  loopWait: z.number(),
  retryTimeout: z.number(),
});

const PatroniMemberSchema = z.object({
  name: z.string(),
  pgPort: z.number().int(),
  restApiPort: z.number().int(),
  gatewayUrl: z.string(),
  apiUrl: z.string(),
  memberDir: z.string(),
  dataDir: z.string(),
  configFile: z.string(),
  logFile: z.string(),
  /** The Patroni process (it leads its own process group; it runs the member's PostgreSQL). */
  patroni: PatroniProcessSchema.nullable(),
});

export const PatroniShardSchema = z.object({
  scope: z.string(),
  namespace: z.string(),
  etcdUrls: z.array(z.string()),
  stateDir: z.string(),
  pgBinDir: z.string(),
  patroniBin: z.string(),
  timings: TimingsSchema,
  synchronousMode: z.boolean(),
  database: z.string(),
  user: z.string(),
  members: z.array(PatroniMemberSchema),
});

export const PatroniLayoutSchema = z.object({
  /** Patroni's etcd namespace: `<etcdPrefix>patroni/`; scope `<shard id>` under it. */
  namespace: z.string(),
  timings: TimingsSchema,
  /** On with `durability: remote_apply`: Patroni keeps a synchronous standby. */
  synchronousMode: z.boolean(),
  binaries: z.object({ patroni: z.string(), patronictl: z.string() }),
  /** Shard id → its scope's handle (absent until that shard was started). */
  shards: z.record(z.string(), PatroniShardSchema),
});

export type PatroniLayout = z.infer<typeof PatroniLayoutSchema>;
