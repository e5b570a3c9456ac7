import { describe, expect, it } from "vitest";
import {
  DEFAULT_RYOW_WINDOW_SECONDS,
  decideRoute,
  MAX_COOKIE_HEADER_LENGTH,
  RYOW_CLOCK_SKEW_SECONDS,
  RYOW_COOKIE,
  type RyowWindow,
  serializeRyowCookie,
} from "./ryow.ts";

const NOW = 1_800_000_000;
const W = DEFAULT_RYOW_WINDOW_SECONDS;

/** The `name=value` part of a Set-Cookie header, as a browser would send it back. */
function sent(setCookie: string): string {
  return setCookie.split(";")[0] ?? "";
}

async function signed(until: number | "session", secret: string): Promise<string> {
  // serializeRyowCookie computes until = now + window; pick now so the value is `until`.
  if (until === "session") {
    return sent(
      await serializeRyowCookie({ nowSeconds: NOW, window: "session", secure: false, secret }),
    );
  }
  return sent(
    await serializeRyowCookie({ nowSeconds: until - 1, window: 1, secure: false, secret }),
  );
}

describe("serializeRyowCookie", () => {
  it.each([
    [
      "a 30 s window over http",
      { nowSeconds: NOW, window: 30, secure: false },
      `ryow_until=${NOW + 30}; Max-Age=30; Path=/; HttpOnly; SameSite=Lax`,
    ],
    [
      "a 30 s window over https",
      { nowSeconds: NOW, window: 30, secure: true },
      `ryow_until=${NOW + 30}; Max-Age=30; Path=/; HttpOnly; SameSite=Lax; Secure`,
    ],
    [
      "a fractional now (Date.now() / 1000)",
      { nowSeconds: NOW + 0.999, window: 5, secure: false },
      `ryow_until=${NOW + 5}; Max-Age=5; Path=/; HttpOnly; SameSite=Lax`,
    ],
    [
      "a session window: a session cookie without Max-Age",
      { nowSeconds: NOW, window: "session" as const, secure: true },
      "ryow_until=session; Path=/; HttpOnly; SameSite=Lax; Secure",
    ],
  ])("%s", async (_name, options, expected) => {
    expect(await serializeRyowCookie(options)).toBe(expected);
  });

  it("signs the value with HMAC-SHA256 in base64url when given a secret", async () => {
    const cookie = await serializeRyowCookie({
      nowSeconds: NOW,
      window: 30,
      secure: true,
      secret: "k1",
    });
    expect(cookie).toMatch(
      new RegExp(
        `^ryow_until=${NOW + 30}\\.[A-Za-z0-9_-]{43}; Max-Age=30; Path=/; HttpOnly; SameSite=Lax; Secure$`,
      ),
    );
    // Same input, same signature; another secret, another signature.
    expect(
      await serializeRyowCookie({ nowSeconds: NOW, window: 30, secure: true, secret: "k1" }),
    ).toBe(cookie);
    expect(
      await serializeRyowCookie({ nowSeconds: NOW, window: 30, secure: true, secret: "k2" }),
    ).not.toBe(cookie);
  });

  it("matches an independently computed HMAC", async () => {
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode("secret"),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(
      await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(String(NOW + 30))),
    );
    const b64url = btoa(String.fromCharCode(...mac))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    const cookie = await serializeRyowCookie({
      nowSeconds: NOW,
      window: 30,
      secure: false,
      secret: "secret",
    });
    expect(sent(cookie)).toBe(`ryow_until=${NOW + 30}.${b64url}`);
  });

  it("signs the session value too", async () => {
    expect(await signed("session", "k1")).toMatch(/^ryow_until=session\.[A-Za-z0-9_-]{43}$/);
  });

  it.each([
    ["a zero window", { nowSeconds: NOW, window: 0, secure: false }],
    ["a negative window", { nowSeconds: NOW, window: -30, secure: false }],
    ["a fractional window", { nowSeconds: NOW, window: 1.5, secure: false }],
    ["a NaN window", { nowSeconds: NOW, window: Number.NaN, secure: false }],
    [
      "an unknown window word",
      { nowSeconds: NOW, window: "forever" as unknown as RyowWindow, secure: false },
    ],
    ["a NaN now", { nowSeconds: Number.NaN, window: 30, secure: false }],
    ["a negative now", { nowSeconds: -1, window: 30, secure: false }],
  ])("rejects %s", async (_name, options) => {
    await expect(serializeRyowCookie(options)).rejects.toThrow(RangeError);
  });
});

describe("decideRoute without secrets", () => {
  const o = { window: W };
  it.each<[string, string | null | undefined, number, "primary" | "replica"]>([
    ["no header", undefined, NOW, "replica"],
    ["a null header", null, NOW, "replica"],
    ["an empty header", "", NOW, "replica"],
    ["other cookies only", "a=1; b=2", NOW, "replica"],
    ["a cookie just set", `ryow_until=${NOW + W}`, NOW, "primary"],
    ["the last second of the window", `ryow_until=${NOW + W}`, NOW + W, "primary"],
    ["a fractional now inside the window", `ryow_until=${NOW + W}`, NOW + W - 0.5, "primary"],
    ["one second after the window", `ryow_until=${NOW + W}`, NOW + W + 1, "replica"],
    ["a fractional now just after the window", `ryow_until=${NOW + W}`, NOW + W + 0.001, "replica"],
    [
      "an until within the clock skew",
      `ryow_until=${NOW + W + RYOW_CLOCK_SKEW_SECONDS}`,
      NOW,
      "primary",
    ],
    [
      "an until beyond window + skew (forged)",
      `ryow_until=${NOW + W + RYOW_CLOCK_SKEW_SECONDS + 1}`,
      NOW,
      "replica",
    ],
    ["an until far in the future (forged)", "ryow_until=99999999999", NOW, "replica"],
    ["among other cookies", `a=1; ryow_until=${NOW + 10}; b=2`, NOW, "primary"],
    ["without a space after ;", `a=1;ryow_until=${NOW + 10}`, NOW, "primary"],
    ["with spaces around the value", `ryow_until= ${NOW + 10} ; b=2`, NOW, "primary"],
    ["a longer cookie name ending in ryow_until", `xryow_until=${NOW + 10}`, NOW, "replica"],
    ["ryow_until as another cookie's value", `a=ryow_until=${NOW + 10}`, NOW, "replica"],
    ["an empty value", "ryow_until=", NOW, "replica"],
    ["a non-numeric value", "ryow_until=soon", NOW, "replica"],
    ["a negative value", `ryow_until=-${NOW}`, NOW, "replica"],
    ["an exponent", "ryow_until=1.8e9", NOW, "replica"],
    ["a hex value", "ryow_until=0x6B49D200", NOW, "replica"],
    ["a quoted value", `ryow_until="${NOW + 10}"`, NOW, "replica"],
    ["13 digits", `ryow_until=0${NOW + 10}000`, NOW, "replica"],
    ["a session value under a numeric window", "ryow_until=session", NOW, "replica"],
    [
      "a signature that is ignored without secrets",
      `ryow_until=${NOW + 10}.whatever`,
      NOW,
      "primary",
    ],
    [
      "an expired cookie, then a valid one (any valid one wins)",
      `ryow_until=1; ryow_until=${NOW + 10}`,
      NOW,
      "primary",
    ],
    ["a valid cookie, then garbage", `ryow_until=${NOW + 10}; ryow_until=x`, NOW, "primary"],
    ["binary garbage", "\u0000\uffff;;;==;ryow_until", NOW, "replica"],
    ["only semicolons", ";;;;;;", NOW, "replica"],
  ])("%s → %s", async (_name, header, now, route) => {
    expect(await decideRoute(header, now, o)).toBe(route);
  });

  it("round-trips the cookie it serializes", async () => {
    const cookie = sent(await serializeRyowCookie({ nowSeconds: NOW, window: W, secure: true }));
    expect(await decideRoute(cookie, NOW, o)).toBe("primary");
    expect(await decideRoute(cookie, NOW + W + 1, o)).toBe("replica");
  });

  it("examines only the first 4 ryow_until cookies", async () => {
    const expired = Array(4).fill("ryow_until=1").join("; ");
    expect(await decideRoute(`${expired}; ryow_until=${NOW + 10}`, NOW, o)).toBe("replica");
    const three = Array(3).fill("ryow_until=1").join("; ");
    expect(await decideRoute(`${three}; ryow_until=${NOW + 10}`, NOW, o)).toBe("primary");
  });

  it("ignores headers longer than MAX_COOKIE_HEADER_LENGTH", async () => {
    const valid = `ryow_until=${NOW + 10}`;
    const padding = (n: number) => `pad=${"x".repeat(n)}; `;
    const fits = padding(MAX_COOKIE_HEADER_LENGTH - valid.length - 6) + valid;
    expect(fits.length).toBeLessThanOrEqual(MAX_COOKIE_HEADER_LENGTH);
    expect(await decideRoute(fits, NOW, o)).toBe("primary");
    const tooLong = padding(MAX_COOKIE_HEADER_LENGTH) + valid;
    expect(await decideRoute(tooLong, NOW, o)).toBe("replica");
  });

  it("stays fast on a huge header full of near-misses", async () => {
    const header = "ryow_until=x; ".repeat(1000).slice(0, MAX_COOKIE_HEADER_LENGTH);
    const started = performance.now();
    for (let i = 0; i < 1000; i++) await decideRoute(header, NOW, o);
    expect(await decideRoute(header, NOW, o)).toBe("replica");
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it.each<[string, number, RyowWindow]>([
    ["a NaN now", Number.NaN, W],
    ["an infinite now", Number.POSITIVE_INFINITY, W],
    ["a zero window", NOW, 0],
    ["a negative window", NOW, -5],
    ["an unknown window word", NOW, "forever" as unknown as RyowWindow],
  ])("answers replica, not an error, for %s", async (_name, now, window) => {
    expect(await decideRoute(`ryow_until=${NOW + 10}`, now, { window })).toBe("replica");
  });

  it.each([[42], [{}], [["ryow_until=1"]]])(
    "never throws, even for the non-string header %j",
    async (h) => {
      expect(await decideRoute(h as unknown as string, NOW, o)).toBe("replica");
    },
  );

  it("uses a shorter configured window as the forgery bound", async () => {
    expect(await decideRoute(`ryow_until=${NOW + 10}`, NOW, { window: 5 })).toBe("primary");
    expect(await decideRoute(`ryow_until=${NOW + 11}`, NOW, { window: 5 })).toBe("replica");
  });
});

describe("decideRoute with secrets", () => {
  it("routes a cookie signed with the current secret to the primary", async () => {
    const cookie = await signed(NOW + 10, "current");
    expect(await decideRoute(cookie, NOW, { window: W, secrets: ["current"] })).toBe("primary");
  });

  it("accepts the previous secret during a rotation", async () => {
    const cookie = await signed(NOW + 10, "previous");
    expect(await decideRoute(cookie, NOW, { window: W, secrets: ["current", "previous"] })).toBe(
      "primary",
    );
    expect(await decideRoute(cookie, NOW, { window: W, secrets: ["current"] })).toBe("replica");
  });

  it.each([
    ["an unsigned value", async () => `ryow_until=${NOW + 10}`],
    ["another secret's signature", async () => signed(NOW + 10, "attacker")],
    [
      "a signature moved onto another until",
      async () => `ryow_until=${NOW + 20}.${(await signed(NOW + 10, "current")).split(".")[1]}`,
    ],
    ["a truncated signature", async () => (await signed(NOW + 10, "current")).slice(0, -1)],
    ["a signature with an extra character", async () => `${await signed(NOW + 10, "current")}A`],
    ["a signature with invalid characters", async () => `ryow_until=${NOW + 10}.${"+".repeat(43)}`],
    ["a padded base64 signature", async () => `${await signed(NOW + 10, "current")}=`],
    ["an empty signature", async () => `ryow_until=${NOW + 10}.`],
    ["a signed but expired value", async () => signed(NOW - 1, "current")],
    [
      "a signed value beyond the window",
      async () => signed(NOW + W + RYOW_CLOCK_SKEW_SECONDS + 1, "current"),
    ],
    ["a signed session value under a numeric window", async () => signed("session", "current")],
  ])("sends %s to a replica", async (_name, make) => {
    expect(
      await decideRoute(await make(), NOW, { window: W, secrets: ["current", "previous"] }),
    ).toBe("replica");
  });

  it("ignores empty and missing secrets (unsigned mode when none remain)", async () => {
    const unsigned = `ryow_until=${NOW + 10}`;
    expect(await decideRoute(unsigned, NOW, { window: W, secrets: [] })).toBe("primary");
    expect(await decideRoute(unsigned, NOW, { window: W, secrets: ["", undefined] })).toBe(
      "primary",
    );
    const cookie = await signed(NOW + 10, "current");
    expect(await decideRoute(cookie, NOW, { window: W, secrets: ["current", undefined] })).toBe(
      "primary",
    );
  });

  it("lets a valid signed cookie win over a forged one in the same header", async () => {
    const good = await signed(NOW + 10, "current");
    const forged = await signed(NOW + 10, "attacker");
    expect(await decideRoute(`${forged}; ${good}`, NOW, { window: W, secrets: ["current"] })).toBe(
      "primary",
    );
  });
});

describe("decideRoute with a session window", () => {
  it.each<[string, () => Promise<string>, readonly string[] | undefined, "primary" | "replica"]>([
    ["the session value", async () => "ryow_until=session", undefined, "primary"],
    [
      "the session value with secrets but unsigned",
      async () => "ryow_until=session",
      ["k"],
      "replica",
    ],
    ["the signed session value", async () => signed("session", "k"), ["k"], "primary"],
    [
      "the session value signed with the previous secret",
      async () => signed("session", "old"),
      ["k", "old"],
      "primary",
    ],
    [
      "the session value signed with another secret",
      async () => signed("session", "x"),
      ["k"],
      "replica",
    ],
    ["a numeric value", async () => `ryow_until=${NOW + 10}`, undefined, "replica"],
    ["SESSION in upper case", async () => "ryow_until=SESSION", undefined, "replica"],
    ["no cookie", async () => "a=b", undefined, "replica"],
  ])("%s → %s", async (_name, make, secrets, route) => {
    const cookie = await make();
    expect(
      await decideRoute(cookie, NOW, { window: "session", ...(secrets ? { secrets } : {}) }),
    ).toBe(route);
  });

  it("round-trips its own session cookie", async () => {
    const cookie = sent(
      await serializeRyowCookie({ nowSeconds: NOW, window: "session", secure: false, secret: "k" }),
    );
    expect(await decideRoute(cookie, NOW + 86_400, { window: "session", secrets: ["k"] })).toBe(
      "primary",
    );
  });
});

it("names the cookie ryow_until", () => {
  expect(RYOW_COOKIE).toBe("ryow_until");
});
