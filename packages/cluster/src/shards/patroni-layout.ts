/**
 * The part of layout.json that describes Patroni mode (`up --ha patroni`): every shard's Patroni
 * scope with its members (ports, data dirs, the Patroni PID and start time), as the patroni
 * module's `PatroniShard` handle, so a CLI verb in another process can act on it.
 */
import { z } from "zod";
import { PatroniShardSchema, TimingsSchema } from "../patroni/schema.ts";

export const HA_MODES = ["manual", "patroni"] as const;
export type HaMode = (typeof HA_MODES)[number];

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
