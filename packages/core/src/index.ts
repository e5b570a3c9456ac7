export type { AliasCheck } from "./codes.ts";
export { CODE_LENGTH, checkAlias, generateCode, isShortCode, RESERVED_WORDS } from "./codes.ts";
export type {
  LinkAnswer,
  LinkBehind,
  LinkFound,
  LinkGone,
  RedirectStatus,
} from "./link-answer.ts";
export {
  GATEWAY_STATUS,
  LinkBehindSchema,
  LinkFoundSchema,
  LinkGoneSchema,
  LinkMissingSchema,
  linkBehind,
  MIN_LSN_PARAM,
  parseLinkAnswer,
  REDIRECT_STATUSES,
} from "./link-answer.ts";
export { murmur3_32 } from "./murmur3.ts";
export type { PatroniMember, PatroniSnapshotOptions } from "./patroni.ts";
export {
  DEFAULT_PATRONI_NAMESPACE,
  PatroniMemberSchema,
  patroniScopePrefix,
  snapshotFromPatroni,
  snapshotFromPatroniKeys,
} from "./patroni.ts";
export * from "./position/index.ts";
export type { Problem, ProblemType } from "./problem.ts";
export { PROBLEM, PROBLEM_CONTENT_TYPE, problem } from "./problem.ts";
export type { CodeMove, OriginAck, Reshard, ReshardInput, ReshardPhase } from "./reshard.ts";
export {
  moveOf,
  OriginAckSchema,
  ownerRing,
  RESHARD_PHASES,
  ReshardSchema,
  reshardIssues,
  reshardKey,
  reshardShards,
} from "./reshard.ts";
export type { HashRingOptions, RingSpec } from "./ring.ts";
export { DEFAULT_VNODES, HashRing, RingSchema } from "./ring.ts";
export type { DecideRouteOptions, Route, RyowWindow, SerializeRyowCookieOptions } from "./ryow.ts";
export {
  DEFAULT_RYOW_WINDOW_SECONDS,
  decideRoute,
  MAX_COOKIE_HEADER_LENGTH,
  RYOW_CLOCK_SKEW_SECONDS,
  RYOW_COOKIE,
  serializeRyowCookie,
} from "./ryow.ts";
export { mulberry32, seededCodes } from "./seeded-random.ts";
export type { Strategy } from "./settings.ts";
export {
  ConsistencySettingsSchema,
  DEFAULT_STRATEGIES,
  describeIssues,
  optionalSetting,
  PositionTtlSchema,
  parseEnv,
  RyowWindowSchema,
  STRATEGIES,
  StrategyListSchema,
} from "./settings.ts";
export type { CheckTargetOptions, TargetCheck, TargetRejection } from "./target.ts";
export { checkTarget, MAX_TARGET_LENGTH } from "./target.ts";
export type { TopologyNode, TopologyShard, TopologySnapshot } from "./topology.ts";
export {
  DEFAULT_ETCD_PREFIX,
  etcdKey,
  etcdValuesFor,
  isNewer,
  MAX_SHARDS,
  MAX_VNODES,
  NodeSchema,
  parseTopologySnapshot,
  ShardSchema,
  snapshotFromEtcd,
  Topology,
  TopologyError,
  TopologySnapshotSchema,
} from "./topology.ts";
