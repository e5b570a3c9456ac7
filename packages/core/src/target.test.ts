import { describe, expect, it } from "vitest";
import { checkTarget, MAX_TARGET_LENGTH, type TargetRejection } from "./target.ts";

const shortHosts = ["127.0.0.1:8787", "fc.example", "https://go.example:8443", "[::1]:8787"];

describe("checkTarget accepts http(s) URLs and normalizes them", () => {
  it.each([
    ["https://example.com", "https://example.com/"],
    ["http://example.com/path?q=1#frag", "http://example.com/path?q=1#frag"],
    ["HTTPS://EXAMPLE.com/Path", "https://example.com/Path"],
    ["https://example.com:443/x", "https://example.com/x"],
    ["http://example.com:8080/", "http://example.com:8080/"],
    ["  https://example.com/trimmed  ", "https://example.com/trimmed"],
    ["https://example.com/a b", "https://example.com/a%20b"],
    ["https://bücher.example/", "https://xn--bcher-kva.example/"],
    ["http://[2001:db8::1]/", "http://[2001:db8::1]/"],
    ["http://10.0.0.1:9000/x", "http://10.0.0.1:9000/x"],
    // Other ports of a short host are other services.
    ["http://127.0.0.1:8788/api", "http://127.0.0.1:8788/api"],
    ["https://go.example/", "https://go.example/"],
    ["https://sub.fc.example/", "https://sub.fc.example/"],
    ["http://[::1]:9999/", "http://[::1]:9999/"],
  ])("%j → %j", (raw, url) => {
    expect(checkTarget(raw, { shortHosts })).toEqual({ ok: true, url });
  });

  it("accepts a URL of exactly MAX_TARGET_LENGTH characters", () => {
    const base = "https://example.com/";
    const raw = base + "a".repeat(MAX_TARGET_LENGTH - base.length);
    expect(checkTarget(raw, { shortHosts })).toEqual({ ok: true, url: raw });
  });
});

describe("checkTarget rejects with a reason and a message", () => {
  const long = `https://example.com/${"a".repeat(MAX_TARGET_LENGTH)}`;
  // Within the raw limit, but percent-encoding grows it past the limit.
  const growsTooLong = `https://example.com/${"é".repeat(1000)}`; // each é becomes %C3%A9

  it.each<[string, string, TargetRejection]>([
    ["longer than the limit", long, "too_long"],
    ["too long once normalized", growsTooLong, "too_long"],
    ["empty", "", "unparsable"],
    ["not a URL", "not a url", "unparsable"],
    ["relative", "/just/a/path", "unparsable"],
    ["without a scheme", "example.com/page", "unparsable"],
    ["with a broken port", "http://example.com:99999/", "unparsable"],
    ["with an invalid host", "http://exa mple.com/", "unparsable"],
    ["javascript:", "javascript:alert(1)", "scheme"],
    ["data:", "data:text/html,<script>alert(1)</script>", "scheme"],
    ["ftp:", "ftp://example.com/file", "scheme"],
    ["file:", "file:///etc/passwd", "scheme"],
    ["mailto:", "mailto:someone@example.com", "scheme"],
    ["ws:", "ws://example.com/socket", "scheme"],
    ["http:// alone", "http://", "no_host"],
    ["https:/// path", "https:///path", "no_host"],
    ["http://?query", "http://?x=1", "no_host"],
    ["user and password", "https://user:pass@example.com/", "credentials"],
    ["a user only", "https://user@example.com/", "credentials"],
    ["a password only", "https://:secret@example.com/", "credentials"],
    ["the short host with its port", "http://127.0.0.1:8787/abc1234", "loop"],
    ["a short host on any port", "https://fc.example:444/x", "loop"],
    ["a short host in upper case", "https://FC.EXAMPLE/abc", "loop"],
    ["a short host with a trailing dot", "https://fc.example./abc", "loop"],
    ["a short base URL on its port", "https://go.example:8443/abc", "loop"],
    ["an IPv6 short host", "http://[::1]:8787/abc", "loop"],
    ["127.0.0.1 spelled in hex", "http://0x7f.0.0.1:8787/abc", "loop"],
  ])("%s", (_name, raw, reason) => {
    const result = checkTarget(raw, { shortHosts });
    expect(result).toMatchObject({ ok: false, reason });
    if (!result.ok) expect(result.message.length).toBeGreaterThan(10);
  });

  it("gives each reason its own message", () => {
    const messages = new Set(
      ["x".repeat(5000), "nope", "ftp://a.b", "http://", "http://u:p@a.b", "http://fc.example/"]
        .map((raw) => checkTarget(raw, { shortHosts }))
        .map((r) => (r.ok ? "ok" : r.message)),
    );
    expect(messages.size).toBe(6);
  });

  it.each([[undefined], [null], [42]])("rejects the non-string %j as unparsable", (raw) => {
    expect(checkTarget(raw as unknown as string, { shortHosts })).toMatchObject({
      ok: false,
      reason: "unparsable",
    });
  });
});

describe("checkTarget short host matching", () => {
  it.each([
    ["host:port matches only that port", ["a.example:8080"], "http://a.example:8080/", false],
    ["host:port ignores another port", ["a.example:8080"], "http://a.example:8081/", true],
    ["host:80 matches the http default port", ["a.example:80"], "http://a.example/", false],
    ["host:443 matches the https default port", ["a.example:443"], "https://a.example/", false],
    ["host:443 does not match http's 80", ["a.example:443"], "http://a.example/", true],
    ["a bare host matches every port", ["a.example"], "http://a.example:1234/", false],
    ["a short host with a trailing dot", ["a.example."], "http://a.example/", false],
    ["a short host in upper case", ["A.Example"], "http://a.example/", false],
    ["a base URL with a path", ["http://a.example:8787/ignored"], "http://a.example:8787/", false],
    ["blank entries are ignored", ["", "  "], "http://a.example/", true],
    ["garbage entries are ignored", ["::::", "http://"], "http://a.example/", true],
    ["no short hosts", [], "http://127.0.0.1:8787/", true],
  ])("%s", (_name, hosts, raw, ok) => {
    expect(checkTarget(raw, { shortHosts: hosts }).ok).toBe(ok);
  });
});
