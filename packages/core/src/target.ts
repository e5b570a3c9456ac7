/**
 * Validation of link targets. Only absolute http(s) URLs with a host, no embedded credentials,
 * bounded length, and never one of our own short hosts (a link to a short link can loop).
 */

export const MAX_TARGET_LENGTH = 4096;

export type TargetRejection =
  | "too_long"
  | "unparsable"
  | "scheme"
  | "no_host"
  | "credentials"
  | "loop";

export interface CheckTargetOptions {
  /** Hosts that serve short links: `host`, `host:port`, or a base URL such as `https://fc.example`. */
  shortHosts: readonly string[];
}

export type TargetCheck =
  | { ok: true; url: string }
  | { ok: false; reason: TargetRejection; message: string };

function reject(reason: TargetRejection, message: string): TargetCheck {
  return { ok: false, reason, message };
}

// "http://" or "https://" followed directly by the end, a path, a query or a fragment: the WHATWG
// parser rejects these as a whole, but the user deserves the precise reason.
const EMPTY_HOST = /^\s*https?:\/\/(?:[/?#\\]|\s*$)/i;

interface HostSpec {
  hostname: string;
  /** Explicit port, or null to match the hostname on any port. */
  port: string | null;
}

function normalizeHostname(hostname: string): string {
  const lower = hostname.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

function parseHostSpec(raw: string): HostSpec | null {
  const trimmed = raw.trim();
  if (trimmed === "") return null;
  if (trimmed.includes("://")) {
    // A base URL: its host only. A port written explicitly survives unless it is the default.
    if (!URL.canParse(trimmed)) return null;
    const url = new URL(trimmed);
    return { hostname: normalizeHostname(url.hostname), port: url.port === "" ? null : url.port };
  }
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(trimmed);
  if (!match || match[1] === undefined || !URL.canParse(`http://${match[1]}/`)) return null;
  // Let the URL parser canonicalize the hostname (case, IDNA, IPv4 forms) like the target's.
  const hostname = normalizeHostname(new URL(`http://${match[1]}/`).hostname);
  return { hostname, port: match[2] === undefined ? null : String(Number(match[2])) };
}

function effectivePort(url: URL): string {
  if (url.port !== "") return url.port;
  return url.protocol === "https:" ? "443" : "80";
}

/**
 * Checks a link target. On success returns the normalized URL (`URL.href`); otherwise the
 * rejection's machine-readable reason and a human message.
 */
export function checkTarget(raw: string, options: CheckTargetOptions): TargetCheck {
  if (typeof raw !== "string") return reject("unparsable", "The target must be a string.");
  if (raw.length > MAX_TARGET_LENGTH) {
    return reject("too_long", `The target URL must be at most ${MAX_TARGET_LENGTH} characters.`);
  }
  if (EMPTY_HOST.test(raw)) return reject("no_host", "The target URL must include a host name.");
  if (!URL.canParse(raw)) {
    return reject("unparsable", "The target must be an absolute URL such as https://example.com/.");
  }
  const url = new URL(raw);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return reject("scheme", `Only http: and https: targets are allowed (got ${url.protocol}).`);
  }
  if (url.hostname === "") return reject("no_host", "The target URL must include a host name.");
  if (url.username !== "" || url.password !== "") {
    return reject("credentials", "The target URL must not contain a user name or password.");
  }
  const hostname = normalizeHostname(url.hostname);
  for (const spec of options.shortHosts) {
    const short = parseHostSpec(spec);
    if (!short || short.hostname !== hostname) continue;
    if (short.port === null || short.port === effectivePort(url)) {
      return reject(
        "loop",
        "The target points at this link shortener; links to short links could loop.",
      );
    }
  }
  // Normalization can grow the URL (percent-encoding, punycode): bound what is stored too.
  if (url.href.length > MAX_TARGET_LENGTH) {
    return reject("too_long", `The target URL must be at most ${MAX_TARGET_LENGTH} characters.`);
  }
  return { ok: true, url: url.href };
}
