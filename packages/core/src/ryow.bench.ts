import { expect, test } from "vitest";
import { decideRoute, serializeRyowCookie } from "./ryow.ts";

const NOW = 1_800_000_000;
const others = "theme=dark; _ga=GA1.2.123456789.1234567890; session_hint=abc";

test("decideRoute per redirect", async ({ bench }) => {
  const unsigned = `${others}; ryow_until=${NOW + 20}`;
  const signedCookie = (
    await serializeRyowCookie({ nowSeconds: NOW - 10, window: 30, secure: true, secret: "k" })
  ).split(";")[0];
  const signed = `${others}; ${signedCookie}`;
  expect(await decideRoute(signed, NOW, { window: 30, secrets: ["k"] })).toBe("primary");

  await bench.compare(
    bench("no ryow cookie (most redirects)", async () => {
      await decideRoute(others, NOW, { window: 30, secrets: ["k"] });
    }),
    bench("unsigned cookie, no secrets", async () => {
      await decideRoute(unsigned, NOW, { window: 30 });
    }),
    bench("signed cookie, HMAC verify", async () => {
      await decideRoute(signed, NOW, { window: 30, secrets: ["k"] });
    }),
  );
});
