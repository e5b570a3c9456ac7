/**
 * Patroni mode in layout.json: each shard's scope and its members, so a CLI verb in another
 * process can act on them. No imports but zod: layout.json's schema uses it.
 */
import { z } from "zod";

export const PatroniMemberSchema = z.object({
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
  patroni: z.object({ pid: z.number().int(), startTicks: z.string().nullable() }).nullable(),
});

export const TimingsSchema = z.object({
  ttl: z.number(),
  loopWait: z.number(),
  retryTimeout: z.number(),
});

export const PatroniShardSchema = z.object({
  scope: z.string(),
  etcdUrls: z.array(z.string()),
  stateDir: z.string(),
  pgBinDir: z.string(),
  patroniBin: z.string(),
  members: z.array(PatroniMemberSchema),
});

export type PatroniMember = z.infer<typeof PatroniMemberSchema>;
export type PatroniShard = z.infer<typeof PatroniShardSchema>;

export const HA_MODES = ["manual", "patroni"] as const;
export type HaMode = (typeof HA_MODES)[number];

/** layout.json in Patroni mode (`up --ha patroni`): every shard's scope, once it was started. */
export const PatroniLayoutSchema = z.object({
  /** Patroni's etcd namespace: `<etcdPrefix>patroni/`; scope `<shard id>` under it. */
  namespace: z.string(),
  timings: TimingsSchema,
  /** On with `durability: remote_apply`: Patroni keeps a synchronous standby. */
  synchronousMode: z.boolean(),
  /** Shard id → its scope's handle (absent until that shard was started). */
  shards: z.record(z.string(), PatroniShardSchema),
});

export type PatroniLayout = z.infer<typeof PatroniLayoutSchema>;
