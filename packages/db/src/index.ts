export { reconnectBackoff } from "./pool.ts";
export { type LinkRow, links, type NewLinkRow } from "./schema.ts";
