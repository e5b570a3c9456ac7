/**
 * A Patroni scope as layout.json records it, so a CLI verb in another process can act on its
 * members. No imports but zod: layout.json's schema uses it.
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
