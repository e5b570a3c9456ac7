// Per-click cost of the Queue consumer in workerd: one batch of 10 messages × 100 events, every
// event of a different code (the worst case: one rollup row per click), through consumeClicks
// with an origin that answers 200 at once: zod parse, rollUp, the JSON body. Printed in µs/event.
import type { ClickMessage } from "@firstclick/core/clicks";
import { expect, test } from "vitest";
import { consumeClicks } from "./consumer.ts";

const MESSAGES = 10;
const EVENTS = 100;
const AT = Date.UTC(2026, 10, 20, 9, 30);
/** `codes`: distinct codes per message (EVENTS: every click its own row; 5: hot links). */
const bodiesOf = (codes: number): ClickMessage[] =>
  Array.from({ length: MESSAGES }, (_, m) => ({
    v: 1,
    events: Array.from({ length: EVENTS }, (_, i) => ({
      code: `code${m}x${i % codes}`,
      at: AT + i,
      outcome: "redirect" as const,
      country: "DE",
      referrerHost: i % 3 ? null : "news.example",
      device: "mobile" as const,
      bot: i % 10 === 0,
    })),
  }));
const distinct = bodiesOf(EVENTS);
const hot = bodiesOf(5);
const ok = () =>
  new Response(JSON.stringify({ counted: MESSAGES, duplicates: 0 }), {
    headers: { "content-type": "application/json" },
  });
let sent = 0;

function batch(bodies: ClickMessage[]): MessageBatch<unknown> {
  return {
    queue: "firstclick-clicks",
    metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } },
    messages: bodies.map((body, i) => ({
      id: `m${i}`,
      timestamp: new Date(AT),
      body,
      attempts: 1,
      ack: () => {},
      retry: () => {},
    })),
    ackAll: () => {},
    retryAll: () => {},
  };
}

test("click consumer cost", async ({ bench }) => {
  const run = (bodies: ClickMessage[]) => async () => {
    await consumeClicks(batch(bodies), {
      originUrl: "http://origin.test",
      internalSecret: "secret",
      fetcher: async (_url, init) => {
        sent += String(init.body).length;
        return ok();
      },
    });
  };
  const [a, b] = [`consumeClicks distinct codes`, `consumeClicks 5 codes per message`];
  const result = await bench.compare(bench(a, run(distinct)), bench(b, run(hot)));
  const perEvent = (name: string) =>
    ((result.get(name as never).latency.mean * 1e3) / (MESSAGES * EVENTS)).toFixed(2);
  console.log(
    `click consumer (${MESSAGES} × ${EVENTS} events): ${perEvent(a)} µs/event with one row per event, ${perEvent(b)} µs/event with 5 codes per message`,
  );
  expect(sent).toBeGreaterThan(0);
});
