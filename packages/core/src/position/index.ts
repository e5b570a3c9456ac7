export type { TimelineSwitch } from "./history.ts";
export {
  currentTimeline,
  historyFromPatroni,
  latestTimelines,
  MAX_TIMELINE_HISTORY,
  TimelineHistorySchema,
  TimelineSwitchSchema,
} from "./history.ts";
export type { PositionJudgement } from "./judge.ts";
export { judgePosition } from "./judge.ts";
export type { Lsn } from "./lsn.ts";
export { compareLsn, formatLsn, isLsn, lsnFromBytes, parseLsn } from "./lsn.ts";
export type { Position } from "./position.ts";
export { formatPosition, MAX_TIMELINE, parsePosition } from "./position.ts";
export type {
  PositionEntry,
  PositionToken,
  ReadPositionTokenOptions,
  SerializePositionCookieOptions,
} from "./token.ts";
export {
  comparePositions,
  DEFAULT_POSITION_TTL_SECONDS,
  encodePositionToken,
  MAX_POSITION_ENTRIES,
  MAX_POSITION_PAYLOAD_LENGTH,
  MAX_POSITION_TOKEN_LENGTH,
  mergePosition,
  POSITION_COOKIE,
  POSITION_HEADER,
  readPositionToken,
  serializePositionCookie,
} from "./token.ts";
