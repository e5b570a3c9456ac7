import { decideRoute, type Route } from "@firstclick/core";
import type { EdgeConfig } from "./env.ts";

/**
 * Where a redirect should read (primary or replica) for one client and code. The strategies of
 * STRATEGY are oracles; "primary" from any of them wins. `cookie` and `primary` are here;
 * `redis` (one GET per redirect, kept to measure it) plugs in through `EdgeAppOptions.oracles`.
 * (`fallback` is not an oracle: it acts after a replica's 404, see route.ts.)
 */
export interface RouteOracle {
  readonly name: string;
  route(input: RouteQuery): Promise<Route>;
}

export interface RouteQuery {
  code: string;
  cookieHeader: string | null;
  nowSeconds: number;
}

/** The default: the `ryow_until` cookie, checked in memory. Zero network calls. */
export function cookieOracle(config: Pick<EdgeConfig, "ryowWindow" | "ryowSecrets">): RouteOracle {
  const options = { window: config.ryowWindow, secrets: config.ryowSecrets };
  return {
    name: "cookie",
    route: (q) => decideRoute(q.cookieHeader, q.nowSeconds, options),
  };
}

/** Strong reads, the baseline: every redirect reads the shard primary. */
export const primaryOracle: RouteOracle = {
  name: "primary",
  route: async () => "primary",
};

/** Asks the oracles in order; the first "primary" wins (later ones are not asked). */
export async function decideWithOracles(
  oracles: readonly RouteOracle[],
  query: RouteQuery,
): Promise<Route> {
  for (const oracle of oracles) {
    if ((await oracle.route(query)) === "primary") return "primary";
  }
  return "replica";
}
