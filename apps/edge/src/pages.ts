/**
 * The edge's own answers that are not redirects: a small HTML page for people, an RFC 9457
 * problem document for programs that ask for JSON. Same words either way.
 */

export interface ProblemSpec {
  status: number;
  /** A tag: URI (RFC 9457 §3.1.1 suggests one for types that are not meant to be fetched). */
  type: string;
  title: string;
  detail: string;
  /** For the HTML page: the code to offer a retry link for. */
  retryCode?: string;
}

export const PROBLEM = {
  linkNotFound: "tag:firstclick,2026:link-not-found",
  linkGone: "tag:firstclick,2026:link-gone",
  notFound: "tag:firstclick,2026:not-found",
  methodNotAllowed: "tag:firstclick,2026:method-not-allowed",
  shardsUnavailable: "tag:firstclick,2026:shards-unavailable",
  noTopology: "tag:firstclick,2026:no-topology",
  originUnavailable: "tag:firstclick,2026:origin-unavailable",
  unauthorized: "tag:firstclick,2026:unauthorized",
  badSnapshot: "tag:firstclick,2026:bad-topology-snapshot",
  payloadTooLarge: "tag:firstclick,2026:payload-too-large",
  misconfigured: "tag:firstclick,2026:misconfigured",
} as const;

const JSON_TYPES = new Set(["application/json", "application/problem+json"]);
const MAX_ACCEPT_LENGTH = 2_048;

/**
 * True when the Accept header prefers JSON over HTML. Browsers (text/html) and clients that
 * send nothing or only a wildcard get HTML; `application/json` with a q above any HTML range
 * gets JSON. Malformed parts are skipped; an overlong header is treated as absent.
 */
export function prefersJson(accept: string | null | undefined): boolean {
  if (!accept || accept.length > MAX_ACCEPT_LENGTH) return false;
  let jsonQ = 0;
  let htmlQ = 0;
  let wildcardQ = 0;
  for (const range of accept.split(",")) {
    const [rawType = "", ...params] = range.split(";");
    const type = rawType.trim().toLowerCase();
    let q = 1;
    for (const param of params) {
      const [name, value] = param.split("=");
      if (name?.trim().toLowerCase() === "q") {
        const parsed = Number(value?.trim());
        q = Number.isFinite(parsed) ? Math.min(1, Math.max(0, parsed)) : 0;
      }
    }
    if (JSON_TYPES.has(type)) jsonQ = Math.max(jsonQ, q);
    else if (type === "text/html" || type === "text/*") htmlQ = Math.max(htmlQ, q);
    else if (type === "*/*") wildcardQ = Math.max(wildcardQ, q);
  }
  return jsonQ > 0 && jsonQ > htmlQ && jsonQ >= wildcardQ;
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
export function problemResponse(
  accept: string | null | undefined,
  spec: ProblemSpec,
  headers: Record<string, string> = {},
): Response {
  const common = { "cache-control": "no-store", "x-content-type-options": "nosniff", ...headers };
  if (prefersJson(accept)) {
    const body = { type: spec.type, title: spec.title, status: spec.status, detail: spec.detail };
    return new Response(JSON.stringify(body), {
      status: spec.status,
      headers: { "content-type": "application/problem+json", ...common },
    });
  }
  return new Response(html(spec), {
    status: spec.status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
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

export const NOT_FOUND: ProblemSpec = {
  status: 404,
  type: PROBLEM.notFound,
  title: "Not found",
  detail: "There is nothing at this address. Short links look like /Ab3dE9x.",
};
