import type { ClickMessage } from "@firstclick/core/clicks";
import type { Background } from "../background.ts";
import { ClickBatcher } from "./batcher.ts";
import { buildClickEvent, type ClickInput } from "./event.ts";

/**
 * The redirect path's one call: `recordClick(env, ctx, {...})` after the answer is known. With
 * no `CLICKS` Queue binding analytics are off and it does nothing.
 */

export interface ClickBindings {
  CLICKS?: Queue<ClickMessage>;
}

// One batcher per isolate and Queue binding: batches collect the clicks of many requests.
const batchers = new WeakMap<Queue<ClickMessage>, ClickBatcher>();

export function batcherFor(queue: Queue<ClickMessage>): ClickBatcher {
  let batcher = batchers.get(queue);
  if (!batcher) {
    batcher = new ClickBatcher({
      send: async (message) => {
        await queue.sendBatch([{ body: message, contentType: "json" }]);
      },
    });
    batchers.set(queue, batcher);
  }
  return batcher;
}

export function recordClick(
  env: ClickBindings,
  ctx: { waitUntil: Background },
  input: ClickInput,
): void {
  if (!env.CLICKS) return;
  batcherFor(env.CLICKS).record(buildClickEvent(input), (task) => ctx.waitUntil(task));
}
