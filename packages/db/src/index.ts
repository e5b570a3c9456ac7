export { reconnectBackoff } from "./pool.ts";
export {
  type ClickRollupRow,
  clickBatches,
  clickRollups,
  type LinkRow,
  links,
  type NewLinkRow,
  reshardMoves,
} from "./schema.ts";
