import type { RyowStrategy } from "./strategy.ts";

/** Strong reads, the baseline: every redirect reads the shard primary. */
export const primaryStrategy: RyowStrategy = {
  name: "primary",
  route: async () => "primary",
};
