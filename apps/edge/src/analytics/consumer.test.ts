import { type ClickMessage, hourOf } from "@firstclick/core/clicks";
import { describe, expect, it } from "vitest";
import { consumeClicks, INGEST_PATH, retryDelaySeconds } from "./consumer.ts";

const AT = Date.UTC(2026, 10, 20, 9, 30);

function message(id: string, body: unknown, attempts = 1) {
  const state = { acked: false, retried: false };
  return {
    state,
    message: {
      id,
      timestamp: new Date(AT),
      body,
      attempts,
      ack: () => {
        state.acked = true;
      },
      retry: () => {
        state.retried = true;
      },
    } satisfies Message<unknown>,
  };
}

/** An in-memory MessageBatch that records what the consumer decided. */
function batchOf(messages: Message<unknown>[]) {
  const outcome = { ackAll: false, retryAll: null as QueueRetryOptions | null };
  const batch: MessageBatch<unknown> = {
    messages,
    queue: "firstclick-clicks",
    metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } },
    ackAll: () => {
      outcome.ackAll = true;
    },
    retryAll: (o) => {
      outcome.retryAll = o ?? {};
    },
  };
  return { batch, outcome };
}

const clicks = (code: string, n: number, bot = false): ClickMessage => ({
  v: 1,
  events: Array.from({ length: n }, () => ({
    code,
    at: AT,
    outcome: "redirect" as const,
    country: "DE",
    referrerHost: null,
    device: "mobile" as const,
    bot,
  })),
});

interface Sent {
  url: string;
  authorization: string | null;
  body: { deliveries: { id: string; rows: { code: string; count: number; bot: boolean }[] }[] };
}

function origin(answer: () => Response | Promise<Response>) {
  const sent: Sent[] = [];
  const fetcher = async (url: string, init: RequestInit) => {
    const headers = new Headers(init.headers);
    sent.push({
      url,
      authorization: headers.get("authorization"),
      body: JSON.parse(String(init.body)) as Sent["body"],
    });
    return answer();
  };
  return { sent, fetcher };
}

const ok = () => Response.json({ counted: 2, duplicates: 0 });
const options = { originUrl: "http://origin.test", internalSecret: "s3cret", logError: () => {} };

describe("consumeClicks", () => {
  it("posts each message's rolled-up rows under its message id, then acknowledges", async () => {
    const o = origin(ok);
    const { batch, outcome } = batchOf([
      message("m-1", clicks("abc1234", 3)).message,
      message("m-2", {
        v: 1,
        events: [...clicks("abc1234", 1, true).events, ...clicks("zzz9999", 2).events],
      }).message,
    ]);
    await consumeClicks(batch, { ...options, fetcher: o.fetcher });
    expect(o.sent).toHaveLength(1);
    expect(o.sent[0]?.url).toBe(`http://origin.test${INGEST_PATH}`);
    expect(o.sent[0]?.authorization).toBe("Bearer s3cret");
    const deliveries = o.sent[0]?.body.deliveries ?? [];
    expect(deliveries.map((d) => d.id)).toEqual(["m-1", "m-2"]);
    expect(deliveries[0]?.rows).toEqual([
      expect.objectContaining({ code: "abc1234", hour: hourOf(AT), bot: false, count: 3 }),
    ]);
    expect(deliveries[1]?.rows.map((r) => [r.code, r.bot, r.count])).toEqual([
      ["abc1234", true, 1],
      ["zzz9999", false, 2],
    ]);
    expect(outcome).toEqual({ ackAll: true, retryAll: null });
  });

  it.each([
    ["the origin answers 503", () => new Response("{}", { status: 503 })],
    ["the origin is unreachable", () => Promise.reject(new TypeError("fetch failed"))],
    ["the origin answers 200 with something else", () => Response.json({ nope: true })],
  ])("retries the whole batch when %s", async (_, answer) => {
    const o = origin(answer);
    const { batch, outcome } = batchOf([message("m-1", clicks("abc1234", 1), 3).message]);
    await consumeClicks(batch, { ...options, fetcher: o.fetcher });
    expect(outcome).toEqual({ ackAll: false, retryAll: { delaySeconds: 8 } });
  });

  it("sends the same ids when the same messages are redelivered", async () => {
    const o = origin(ok);
    for (let i = 0; i < 2; i++) {
      const { batch } = batchOf([message("m-7", clicks("abc1234", 1), i + 1).message]);
      await consumeClicks(batch, { ...options, fetcher: o.fetcher });
    }
    expect(o.sent.map((s) => s.body.deliveries[0]?.id)).toEqual(["m-7", "m-7"]);
  });

  it("drops a malformed message alone and counts the others", async () => {
    const o = origin(ok);
    const bad = message("m-bad", { v: 1, events: [{ code: "x", ip: "1.2.3.4" }] });
    const { batch } = batchOf([bad.message, message("m-ok", clicks("abc1234", 1)).message]);
    await consumeClicks(batch, { ...options, fetcher: o.fetcher });
    expect(bad.state.acked).toBe(true);
    expect(o.sent[0]?.body.deliveries.map((d) => d.id)).toEqual(["m-ok"]);
  });

  it("keeps events in the queue while INTERNAL_SECRET is missing", async () => {
    const o = origin(ok);
    const { batch, outcome } = batchOf([message("m-1", clicks("abc1234", 1)).message]);
    await consumeClicks(batch, { ...options, internalSecret: null, fetcher: o.fetcher });
    expect(o.sent).toEqual([]);
    expect(outcome.retryAll).not.toBeNull();
  });

  it("backs off 2, 4, 8 … seconds up to five minutes", () => {
    expect([1, 2, 3, 6, 8, 9, 100].map(retryDelaySeconds)).toEqual([2, 4, 8, 64, 256, 300, 300]);
    // 100 retries (wrangler.toml): the Queue holds a failing message for hours, not minutes.
    const held = Array.from({ length: 100 }, (_, i) => retryDelaySeconds(i + 1));
    expect(held.reduce((sum, s) => sum + s, 0) / 3600).toBeGreaterThan(7.5);
  });
});
