import type { RollupWriter } from "./rollup-writer.ts";
import type { StatsReader } from "./stats-reader.ts";

/**
 * What the stats routes need, in a file of its own: OriginDeps names it, and the routes import
 * the route context, so keeping it in routes.ts would make the two import each other.
 */

/** RollupWriter in production; an in-memory one in the route tests. */
export type ClickSink = Pick<RollupWriter, "write">;
/** StatsReader in production; an in-memory one in the route tests. */
export type StatsSource = Pick<StatsReader, "read">;

export interface StatsDeps {
  writer: ClickSink;
  reader: StatsSource;
  /** The edge's bearer for `POST /api/_internal/clicks`; null refuses every caller (401). */
  internalSecret: string | null;
}
