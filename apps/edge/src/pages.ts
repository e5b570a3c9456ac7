import { PROBLEM, type ProblemType, problem } from "@firstclick/core";
import type { Context } from "hono";
import { accepts } from "hono/accepts";

/**
 * The edge's own answers that are not redirects: a small HTML page for people, an RFC 9457
 * problem document (core's `problem()`) for programs that ask for JSON. Same words either way.
 */

export interface ProblemSpec {
  status: number;
  type: ProblemType;
  title: string;
  detail: string;
  /** For the HTML page: the code to offer a retry link for. */
  retryCode?: string;
}

const MAX_ACCEPT_LENGTH = 2_048;
const HTML = "text/html";

/**
 * True when the Accept header prefers JSON over HTML (hono's `accepts`: highest q first, the
 * more specific range on a tie, `*\/*` alone matches neither). Browsers (text/html) and clients
 * that send nothing or only a wildcard get HTML. An overlong header is treated as absent.
 */
export function prefersJson(c: Context): boolean {
  const accept = c.req.header("accept");
  if (!accept || accept.length > MAX_ACCEPT_LENGTH) return false;
  const supports = [HTML, "application/json", "application/problem+json"];
  return accepts(c, { header: "Accept", supports, default: HTML }) !== HTML;
}

function escapeHtml(s: string): string {
  return s
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

// Inline style only, nothing fetched: the CSP below allows exactly that.
const STYLE =
  "body{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;" +
  "min-height:100vh;background:#fafafa;color:#222}main{max-width:32rem;padding:1.5rem}" +
  "h1{font-size:1.4rem;margin:0 0 .5rem}a{color:#0a58ca}";

function html(spec: ProblemSpec): string {
  const retry = spec.retryCode
    ? ` <a href="/${encodeURIComponent(spec.retryCode)}">Try the link again</a>.`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(spec.title)} · firstclick</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(spec.title)}</h1>
<p>${escapeHtml(spec.detail)}${retry}</p>
<p><a href="/">Shorten a link</a></p>
</main>
</body>
</html>
`;
}

/**
 * The page or problem document for `spec`, as the Accept header prefers. Never stored by any
 * cache: a missing link may exist seconds later.
 */
export function problemPage(
  c: Context,
  spec: ProblemSpec,
  headers: Record<string, string> = {},
): Response {
  const common = { "x-content-type-options": "nosniff", ...headers };
  if (prefersJson(c)) {
    const { type, title, status, detail } = spec;
    return problem({ type, title, status, detail }, common);
  }
  return new Response(html(spec), {
    status: spec.status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
      "cache-control": "no-store",
      ...common,
    },
  });
}

export function linkNotFound(code: string): ProblemSpec {
  return {
    status: 404,
    type: PROBLEM.linkNotFound,
    title: "Link not found",
    detail:
      `There is no link /${code}. If it was created moments ago, it will work in a few ` +
      "seconds: new links take a moment to reach every server.",
    retryCode: code,
  };
}

/** Strategy position: the client's own write of this link was lost when its shard failed over. */
export function linkLost(code: string): ProblemSpec {
  return {
    status: 410,
    type: PROBLEM.linkLost,
    title: "Link lost in a failover",
    detail:
      `The link /${code} was created, but the server that stored it failed before copying it ` +
      "anywhere else, and it was lost. Please create it again.",
  };
}

export function linkGone(code: string, reason: "deleted" | "expired"): ProblemSpec {
  return {
    status: 410,
    type: PROBLEM.linkGone,
    title: reason === "expired" ? "Link expired" : "Link deleted",
    detail:
      reason === "expired"
        ? `The link /${code} has expired and no longer redirects.`
        : `The link /${code} was deleted by its owner and no longer redirects.`,
  };
}

export const NO_TOPOLOGY: ProblemSpec = {
  status: 503,
  type: PROBLEM.noTopology,
  title: "Starting up",
  detail:
    "This edge has not received the shard topology yet, so it cannot look links up. " +
    "Try again in a few seconds.",
};

export function shardsUnavailable(code: string): ProblemSpec {
  return {
    status: 503,
    type: PROBLEM.shardsUnavailable,
    title: "Temporarily unavailable",
    detail: "The servers that hold this link are not answering. Try again in a few seconds.",
    retryCode: code,
  };
}

export const NOT_FOUND: ProblemSpec = {
  status: 404,
  type: PROBLEM.notFound,
  title: "Not found",
  detail: "There is nothing at this address. Short links look like /Ab3dE9x.",
};
