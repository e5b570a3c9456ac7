import { decideRoute } from "@firstclick/core";
import type { EdgeConfig } from "../env.ts";
import type { RyowStrategy } from "./strategy.ts";

/** The default: the `ryow_until` cookie, checked in memory. Zero network calls. */
export function cookieStrategy(
  config: Pick<EdgeConfig, "ryowWindow" | "ryowSecrets">,
): RyowStrategy {
  const options = { window: config.ryowWindow, secrets: config.ryowSecrets };
  return {
    name: "cookie",
    route: (q) => decideRoute(q.cookieHeader, q.nowSeconds, options),
  };
}
