import type { Route } from "@firstclick/core";

/**
 * A RYOW strategy (README, "Strategies"): decides where one redirect reads, primary or replica,
 * for one client and code. STRATEGY names the ones in force; "primary" from any of them wins.
 * `fallback` is not one of these: it acts after a replica's 404 (route.ts, upstream.ts).
 */
export interface RyowStrategy {
  readonly name: string;
  route(query: RouteQuery): Promise<Route>;
}

export interface RouteQuery {
  code: string;
  cookieHeader: string | null;
  nowSeconds: number;
}

/** Asks the strategies in order; the first "primary" wins (later ones are not asked). */
export async function decideWithStrategies(
  strategies: readonly RyowStrategy[],
  query: RouteQuery,
): Promise<Route> {
  for (const strategy of strategies) {
    if ((await strategy.route(query)) === "primary") return "primary";
  }
  return "replica";
}
