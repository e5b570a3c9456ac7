import { isShortCode, type RedirectStatus } from "@firstclick/core";

/**
 * Redirects are never stored by a browser or a shared cache. `private` keeps CDNs and proxies
 * from answering for us (they would bypass the RYOW routing), and `no-store` makes browsers ask
 * again on every click, so an edit or a delete shows on the very next click, even for a 301
 * (which browsers otherwise keep forever). It costs nothing that `max-age=0, must-revalidate`
 * would save: the response has no validator, so revalidating would be a full request anyway.
 */
export const REDIRECT_CACHE_CONTROL = "private, no-store";

/** The redirect for a found link, from a gateway or from the cache; `routed` says which. */
export function redirectResponse(
  answer: { url: string; redirectStatus: RedirectStatus },
  routed: Record<string, string>,
): Response {
  return new Response(null, {
    status: answer.redirectStatus,
    headers: { location: answer.url, "cache-control": REDIRECT_CACHE_CONTROL, ...routed },
  });
}

/**
 * The short code a redirect request names: its URL's path as sent (still percent-encoded; URL()
 * keeps the encoding, hono's path decodes), without parsing the URL, query and fragment dropped.
 * Null when that is not a short code (encoded, another route, too long, reserved). The redirect
 * route, the hit path and the click analytics all read the code with it.
 */
export function codeOf(url: string): string | null {
  const start = url.indexOf("/", url.indexOf("//") + 2) + 1;
  if (start === 0) return null;
  let end = url.length;
  const query = url.indexOf("?", start);
  if (query !== -1) end = query;
  const hash = url.indexOf("#", start);
  if (hash !== -1 && hash < end) end = hash;
  const code = url.slice(start, end);
  return isShortCode(code) ? code : null;
}
