/**
 * A corpus of bad `POST /api/links` requests, each with the 4xx it must get. Shared by the unit
 * tests (in-memory store) and the integration tests (real shards: nothing may be written on any
 * primary). `shortBase` is the origin's PUBLIC_BASE_URL (a target on it would loop).
 */

export interface BadRequest {
  name: string;
  status: 400 | 413 | 415;
  headers: Record<string, string>;
  body: string | Uint8Array<ArrayBuffer>;
}

const JSON_TYPE = { "content-type": "application/json" };

function json(name: string, value: unknown, status: 400 | 413 = 400): BadRequest {
  return { name, status, headers: JSON_TYPE, body: JSON.stringify(value) };
}

const FUTURE = "2099-01-01T00:00:00Z";
const OK_URL = "https://example.com/ok";

export function badCreateRequests(shortBase: string): BadRequest[] {
  return [
    // Media type
    { name: "no content-type", status: 415, headers: {}, body: JSON.stringify({ url: OK_URL }) },
    {
      name: "text/plain",
      status: 415,
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ url: OK_URL }),
    },
    {
      name: "form-urlencoded",
      status: 415,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `url=${encodeURIComponent(OK_URL)}`,
    },
    {
      name: "multipart",
      status: 415,
      headers: { "content-type": "multipart/form-data; boundary=x" },
      body: `--x\r\nContent-Disposition: form-data; name="url"\r\n\r\n${OK_URL}\r\n--x--\r\n`,
    },
    {
      name: "application/jsonp",
      status: 415,
      headers: { "content-type": "application/jsonp" },
      body: JSON.stringify({ url: OK_URL }),
    },
    // Size
    json("body over 8 KiB", { url: `https://example.com/${"a".repeat(9_000)}` }, 413),
    json("huge unknown field", { url: OK_URL, pad: "x".repeat(20_000) }, 413),
    // Syntax and encoding
    { name: "empty body", status: 400, headers: JSON_TYPE, body: "" },
    { name: "whitespace body", status: 400, headers: JSON_TYPE, body: "  \n " },
    { name: "truncated JSON", status: 400, headers: JSON_TYPE, body: '{"url": "https://exa' },
    { name: "trailing comma", status: 400, headers: JSON_TYPE, body: `{"url": "${OK_URL}",}` },
    { name: "single quotes", status: 400, headers: JSON_TYPE, body: `{'url': '${OK_URL}'}` },
    {
      name: "invalid UTF-8",
      status: 400,
      headers: JSON_TYPE,
      body: new Uint8Array([0x7b, 0x22, 0x75, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    },
    // Not an object
    json("JSON array", [{ url: OK_URL }]),
    json("JSON string", OK_URL),
    json("JSON null", null),
    json("JSON number", 42),
    // Missing / unknown fields
    json("empty object", {}),
    json("unknown field", { url: OK_URL, title: "hello" }),
    json("misspelled field", { URL: OK_URL }),
    json("code field (not settable)", { url: OK_URL, code: "abcdefg" }),
    json("editToken field", { url: OK_URL, editToken: "x" }),
    {
      name: "__proto__ key",
      status: 400,
      headers: JSON_TYPE,
      body: `{"url": "${OK_URL}", "__proto__": {"admin": true}}`,
    },
    // url
    json("url is a number", { url: 42 }),
    json("url is null", { url: null }),
    json("url is an array", { url: [OK_URL] }),
    json("url is an object", { url: { href: OK_URL } }),
    json("url empty", { url: "" }),
    json("url not a URL", { url: "not a url" }),
    json("url relative path", { url: "/some/path" }),
    json("url scheme-relative", { url: "//example.com/x" }),
    json("url ftp", { url: "ftp://example.com/file" }),
    json("url javascript:", { url: "javascript:alert(1)" }),
    json("url data:", { url: "data:text/html,<script>alert(1)</script>" }),
    json("url without host", { url: "http://" }),
    json("url with credentials", { url: "https://user:secret@example.com/" }),
    json("url loops to this shortener", { url: `${shortBase}/abcdefg` }),
    json("url too long", { url: `https://example.com/${"a".repeat(4_100)}` }),
    // alias
    json("alias too short", { url: OK_URL, alias: "ab" }),
    json("alias too long", { url: OK_URL, alias: "a".repeat(65) }),
    json("alias with space", { url: OK_URL, alias: "my link" }),
    json("alias with slash", { url: OK_URL, alias: "a/b/c" }),
    json("alias with dot", { url: OK_URL, alias: "file.txt" }),
    json("alias non-ASCII", { url: OK_URL, alias: "café-link" }),
    json("alias reserved (api)", { url: OK_URL, alias: "api" }),
    json("alias reserved (HEALTH)", { url: OK_URL, alias: "HEALTH" }),
    json("alias is a number", { url: OK_URL, alias: 12345 }),
    json("alias empty", { url: OK_URL, alias: "" }),
    // expiresAt
    json("expiresAt in the past", { url: OK_URL, expiresAt: "2001-01-01T00:00:00Z" }),
    json("expiresAt not a date", { url: OK_URL, expiresAt: "tomorrow" }),
    json("expiresAt without time zone", { url: OK_URL, expiresAt: "2099-01-01T00:00:00" }),
    json("expiresAt date only", { url: OK_URL, expiresAt: "2099-01-01" }),
    json("expiresAt is a number", { url: OK_URL, expiresAt: 4_102_444_800 }),
    // redirectStatus
    json("redirectStatus 200", { url: OK_URL, redirectStatus: 200, expiresAt: FUTURE }),
    json("redirectStatus 303", { url: OK_URL, redirectStatus: 303 }),
    json("redirectStatus as string", { url: OK_URL, redirectStatus: "302" }),
    json("redirectStatus fractional", { url: OK_URL, redirectStatus: 302.5 }),
    json("redirectStatus null", { url: OK_URL, redirectStatus: null }),
  ];
}
