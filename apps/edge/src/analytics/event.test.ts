import { describe, expect, it } from "vitest";
import { buildClickEvent, deviceClass, outcomeOf, referrerHost } from "./event.ts";

const CHROME_DESKTOP =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";
const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
const ANDROID_TABLET =
  "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";
const GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const CURL = "curl/8.5.0";

function request(headers: Record<string, string>, cf?: { country?: string }): Request {
  const r = new Request("https://s.example/abc1234", { headers });
  if (cf) Object.defineProperty(r, "cf", { value: cf });
  return r;
}

describe("buildClickEvent (runs in workerd, with the isbot package)", () => {
  it("keeps country, referrer host, device and bot flag, and nothing that identifies anyone", () => {
    const event = buildClickEvent({
      code: "abc1234",
      outcome: "redirect",
      nowMs: 1_790_000_000_000,
      request: request(
        {
          "user-agent": IPHONE,
          referer: "https://news.example/path?q=secret#x",
          "cf-connecting-ip": "203.0.113.9",
        },
        { country: "FR" },
      ),
    });
    expect(event).toEqual({
      code: "abc1234",
      at: 1_790_000_000_000,
      outcome: "redirect",
      country: "FR",
      referrerHost: "news.example",
      device: "mobile",
      bot: false,
    });
    expect(JSON.stringify(event)).not.toMatch(/203\.0\.113|iPhone OS|secret/);
  });

  it.each([
    [CHROME_DESKTOP, "desktop", false],
    [IPHONE, "mobile", false],
    [ANDROID_TABLET, "tablet", false],
    [GOOGLEBOT, "other", true],
    [CURL, "other", true],
    ["", "other", true],
  ])("User-Agent %j → %s, bot %s", (ua, device, bot) => {
    const event = buildClickEvent({
      code: "abc1234",
      outcome: "redirect",
      nowMs: 0,
      request: request(ua ? { "user-agent": ua } : {}),
    });
    expect([event.device, event.bot]).toEqual([device, bot]);
  });

  it("has no country outside Cloudflare and ignores a malformed one", () => {
    const base = { code: "abc1234", outcome: "not_found" as const, nowMs: 0 };
    expect(buildClickEvent({ ...base, request: request({}) }).country).toBeNull();
    expect(
      buildClickEvent({ ...base, request: request({}, { country: "<script>" }) }).country,
    ).toBeNull();
  });
});

describe("referrerHost", () => {
  it.each([
    ["https://Mail.Example.com/inbox", "mail.example.com"],
    ["http://[::1]:8080/x", "[::1]"],
    ["android-app://com.google.android.gm/", null],
    ["not a url", null],
    [`https://a.example/${"x".repeat(3000)}`, null],
    [null, null],
  ])("%j → %j", (referer, host) => {
    expect(referrerHost(referer)).toBe(host);
  });
});

describe("deviceClass and outcomeOf", () => {
  it("treats an unknown platform as other", () => {
    expect(deviceClass("SomeFridge/1.0")).toBe("other");
  });
  it.each([
    [302, "redirect"],
    [308, "redirect"],
    [404, "not_found"],
    [410, "gone"],
    [503, null],
  ])("status %i → %s", (status, outcome) => {
    expect(outcomeOf(status)).toBe(outcome);
  });
});
