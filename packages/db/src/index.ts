export { type LinkRow, links, type NewLinkRow } from "./schema.ts";
