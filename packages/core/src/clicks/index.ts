export type { ClickEvent, ClickMessage, ClickOutcome, DeviceClass } from "./event.ts";
export {
  CLICK_OUTCOMES,
  ClickEventSchema,
  ClickMessageSchema,
  DEVICE_CLASSES,
  hourOf,
  MAX_EVENTS_PER_MESSAGE,
} from "./event.ts";
export type { ClickDelivery, ClickIngest, ClickIngestResult, RollupRow } from "./rollup.ts";
export {
  ClickDeliverySchema,
  ClickIngestResultSchema,
  ClickIngestSchema,
  MAX_DELIVERIES_PER_INGEST,
  mergeRollups,
  RollupRowSchema,
  rollUp,
} from "./rollup.ts";
