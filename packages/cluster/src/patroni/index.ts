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
export { deleteEtcdPrefix, readEtcdPrefix, scopePrefix } from "./dcs.ts";
export { type InstallPatroniOptions, installPatroni, type PatroniBinaries } from "./install.ts";
export {
  killMember,
  loadPatroniShard,
  type MemberView,
  PATRONI_STATE_FILE,
  type PatroniMember,
  type PatroniShard,
  type PatroniStatus,
  patroniStatus,
  restartMember,
  type SettledShard,
  type StartPatroniShardOptions,
  type SwitchoverResult,
  startPatroniShard,
  stopPatroniShard,
  switchover,
  waitForPatroniShard,
} from "./shard.ts";
