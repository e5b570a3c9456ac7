import type { RedirectStatus } from "@firstclick/core";

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
