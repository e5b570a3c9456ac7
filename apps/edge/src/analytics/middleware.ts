import type { Context, MiddlewareHandler } from "hono";
import type { Background } from "../background.ts";
import { codeOf } from "../redirect.ts";
import { outcomeOf } from "./event.ts";
import { type ClickBindings, recordClick } from "./producer.ts";

/**
 * The redirect route's one analytics hook: after the handler answered, a redirect, 404 or 410
 * for a short code becomes a click event, whatever served it (replica, primary, fallback,
 * cache). It only looks at the finished response, so the redirect logic knows nothing of it,
 * and the event leaves through `waitUntil`: nothing is added before the response goes out
 * but building the event (≈ 4 µs, event.bench.ts).
 */

export interface ClickAnalyticsOptions<E extends { Bindings: ClickBindings }> {
  /** The request's `waitUntil` (app.ts's `background`, which also works without a context). */
  waitUntil: (c: Context<E>) => Background;
  now?: () => number;
}

export function clickAnalytics<E extends { Bindings: ClickBindings }>(
  options: ClickAnalyticsOptions<E>,
): MiddlewareHandler<E> {
  const now = options.now ?? Date.now;
  return async function recordClicks(c, next) {
    await next();
    if (!c.env?.CLICKS) return;
    const outcome = outcomeOf(c.res.status);
    if (outcome === null) return;
    const code = codeOf(c.req.url);
    if (code === null) return;
    recordClick(
      c.env,
      { waitUntil: options.waitUntil(c) },
      {
        code,
        outcome,
        request: c.req.raw,
        nowMs: now(),
      },
    );
  };
}
