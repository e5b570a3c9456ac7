// Per-click cost of building the click event (isbot + device class + referrer host + cf
// country) in workerd. One op = OPS events over a mix of browsers and bots; printed in µs/event.
// "repeated": 4 User-Agents and 17 referrers (the isolate's memo answers); "unique": every
// request a User-Agent and referrer never seen (the worst case: isbot runs each time).
import { expect, test } from "vitest";
import { ClickBatcher } from "./batcher.ts";
import { buildClickEvent } from "./event.ts";

const OPS = 1000;
const AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
];
const requests = Array.from({ length: OPS }, (_, i) => {
  const r = new Request(`https://s.example/c${i}`, {
    headers: {
      "user-agent": AGENTS[i % AGENTS.length] ?? "",
      referer: i % 3 ? `https://site${i % 17}.example/page?x=${i}` : "",
    },
  });
  Object.defineProperty(r, "cf", { value: { country: "DE" } });
  return r;
});
// Fresh strings on every call, so the memo never answers.
let fresh = 0;
function uniqueRequest(i: number): Request {
  fresh++;
  return new Request(`https://s.example/c${i}`, {
    headers: {
      "user-agent": `${AGENTS[i % AGENTS.length] ?? ""} Build/${fresh}`,
      referer: `https://u${fresh}.example/`,
    },
  });
}
let sink = 0;

test("click event cost", async ({ bench }) => {
  const build = `buildClickEvent ×${OPS}`;
  const cold = `buildClickEvent unique ×${OPS}`;
  const batched = `buildClickEvent + batch ×${OPS}`;
  const batcher = new ClickBatcher({ send: async () => {}, maxEvents: 100, maxWaitMs: 1 });
  const result = await bench.compare(
    bench(build, () => {
      for (let i = 0; i < OPS; i++) {
        const request = requests[i] ?? requests[0];
        if (!request) continue;
        sink += buildClickEvent({ code: "abc1234", outcome: "redirect", request, nowMs: i }).at;
      }
    }),
    bench(cold, () => {
      for (let i = 0; i < OPS; i++) {
        const request = uniqueRequest(i);
        sink += buildClickEvent({ code: "abc1234", outcome: "redirect", request, nowMs: i }).at;
      }
    }),
    bench(batched, async () => {
      const tasks: Promise<unknown>[] = [];
      for (let i = 0; i < OPS; i++) {
        const request = requests[i] ?? requests[0];
        if (!request) continue;
        batcher.record(
          buildClickEvent({ code: "abc1234", outcome: "redirect", request, nowMs: i }),
          (t) => tasks.push(t),
        );
      }
      await Promise.all(tasks);
    }),
  );
  const perOp = (name: string) => (result.get(name as never).latency.mean * 1e3) / OPS;
  console.log(
    `click event: repeated agents ${perOp(build).toFixed(2)} µs/event (+ batching ${perOp(batched).toFixed(2)}), unique agents ${perOp(cold).toFixed(2)} µs/event`,
  );
  expect(sink).toBeGreaterThan(0);
});
