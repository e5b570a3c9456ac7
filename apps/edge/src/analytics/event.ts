import type { ClickEvent, ClickOutcome, DeviceClass } from "@firstclick/core/clicks";
import { isbot } from "isbot";

/**
 * Builds the click event of one answered redirect from its request: country from Cloudflare's
 * `request.cf`, the referrer's host only, a device class and a bot flag from the User-Agent. The
 * IP address and the User-Agent itself are read here and never leave this function.
 */

/** Longer headers are not worth parsing on the redirect's isolate (and are not real browsers). */
const MAX_HEADER_LENGTH = 2048;
const COUNTRY = /^[A-Z0-9]{2}$/;
const HOST = /^[a-z0-9.:[\]-]{1,253}$/;

export interface ClickInput {
  code: string;
  outcome: ClickOutcome;
  request: Request;
  nowMs: number;
}

function countryOf(request: Request): string | null {
  // `cf` is absent outside Cloudflare (unit tests, plain fetch); miniflare fills in a placeholder.
  const cf = (request as { cf?: { country?: unknown } }).cf;
  const country = cf?.country;
  return typeof country === "string" && COUNTRY.test(country) ? country : null;
}

export function referrerHost(referer: string | null): string | null {
  if (!referer || referer.length > MAX_HEADER_LENGTH) return null;
  try {
    const url = new URL(referer);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    return HOST.test(url.hostname) ? url.hostname : null;
  } catch {
    return null;
  }
}

/**
 * Device class by the User-Agent's own platform tokens: three tests in order (tablet before
 * mobile, since Android tablets omit "Mobile"). A parser library (ua-parser-js) would name
 * models and versions we do not store; this is the whole of what the dashboard shows.
 */
export function deviceClass(ua: string): DeviceClass {
  if (/iPad|Tablet|PlayBook|Silk|Android(?!.*Mobile)/i.test(ua)) return "tablet";
  if (/Mobi|iPhone|iPod|Android|Windows Phone/i.test(ua)) return "mobile";
  if (/Windows NT|Macintosh|X11|CrOS|Linux/i.test(ua)) return "desktop";
  return "other";
}

interface Agent {
  device: DeviceClass;
  bot: boolean;
}

/**
 * isbot costs 16 µs per browser User-Agent in workerd (its one large pattern must fail to match
 * everywhere; event.bench.ts), the rest of the event about 4 µs. Traffic repeats a few hundred
 * User-Agents, so the isolate remembers the answer for up to MEMO_SIZE of them (cleared when full,
 * which bounds the memory whatever a client sends).
 */
const MEMO_SIZE = 2048;
const agents = new Map<string, Agent>();
const referrers = new Map<string, string | null>();

function agentOf(ua: string): Agent {
  let agent = agents.get(ua);
  if (!agent) {
    // No User-Agent at all is a script, not a person: isbot("") is false, so say so here.
    agent =
      ua === "" ? { device: "other", bot: true } : { device: deviceClass(ua), bot: isbot(ua) };
    if (agents.size >= MEMO_SIZE) agents.clear();
    agents.set(ua, agent);
  }
  return agent;
}

function memoReferrerHost(referer: string | null): string | null {
  if (!referer) return null;
  let host = referrers.get(referer);
  if (host === undefined) {
    host = referrerHost(referer);
    if (referrers.size >= MEMO_SIZE) referrers.clear();
    referrers.set(referer, host);
  }
  return host;
}

export function buildClickEvent({ code, outcome, request, nowMs }: ClickInput): ClickEvent {
  const rawUa = request.headers.get("user-agent") ?? "";
  const { device, bot } = agentOf(rawUa.length > MAX_HEADER_LENGTH ? "" : rawUa);
  return {
    code,
    at: nowMs,
    outcome,
    country: countryOf(request),
    referrerHost: memoReferrerHost(request.headers.get("referer")),
    device,
    bot,
  };
}

/** The outcome a click event records for an HTTP status the edge answered a code with. */
export function outcomeOf(status: number): ClickOutcome | null {
  if (status >= 301 && status <= 308) return "redirect";
  if (status === 404) return "not_found";
  if (status === 410) return "gone";
  return null;
}
