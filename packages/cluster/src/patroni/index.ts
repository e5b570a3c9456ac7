/**
 * Patroni-managed shards for the local cluster: one Patroni scope per shard, members started and
 * stopped by PID, hard kills, restarts that rejoin by pg_rewind, planned switchovers, status.
 */
export {
  checkTimings,
  DEFAULT_PATRONI_TIMINGS,
  type PatroniNodeSpec,
  type PatroniTimings,
} from "./config.ts";
export { type InstallPatroniOptions, installPatroni, type PatroniBinaries } from "./install.ts";
export {
  loadPatroniShard,
  PATRONI_STATE_FILE,
  type PatroniMember,
  type PatroniShard,
} from "./members.ts";
export {
  type MemberView,
  type PatroniStatus,
  patroniStatus,
  type SettledShard,
  type SwitchoverResult,
  switchover,
  waitForPatroniShard,
} from "./settle.ts";
export {
  killMember,
  restartMember,
  type StartPatroniShardOptions,
  scopePrefix,
  startPatroniShard,
  stopPatroniShard,
} from "./shard.ts";
