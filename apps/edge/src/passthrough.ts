import { PROBLEM } from "./pages.ts";
import type { Fetcher } from "./upstream.ts";

/** The header the origin reads the client's IP from (its CLIENT_IP_HEADER). */
export const CLIENT_IP_HEADER = "x-firstclick-client-ip";

// RFC 9110 §7.6.1: meaningful for one connection only, never forwarded.
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

function stripHopByHop(headers: Headers): void {
  // Headers the Connection header names are hop-by-hop too.
  const named = (headers.get("connection") ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  for (const name of [...HOP_BY_HOP, ...named]) headers.delete(name);
}

/**
 * Sends the request on to the origin (same site for the browser, so the RYOW cookie the origin
 * sets comes back on the next redirect): method, headers including Cookie, and the body as a
 * stream. The response comes back as is, every Set-Cookie kept (`new Response(body, upstream)`
 * copies the header list, not a merged string), with hop-by-hop headers removed. The origin's
 * own redirects are passed to the client, not followed.
 */
export async function passThrough(
  request: Request,
  originUrl: string,
  fetcher: Fetcher,
): Promise<Response> {
  const url = new URL(request.url);
  const headers = new Headers(request.headers);
  stripHopByHop(headers);
  headers.delete("host");
  // The origin keys its create rate limit by this header (docs/architecture.md): always ours,
  // never the client's. CF-Connecting-IP is set by Cloudflare (by miniflare locally).
  headers.delete(CLIENT_IP_HEADER);
  const clientIp = request.headers.get("cf-connecting-ip");
  if (clientIp) headers.set(CLIENT_IP_HEADER, clientIp);
  headers.set("x-forwarded-host", url.host);
  headers.set("x-forwarded-proto", url.protocol.slice(0, -1));
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  let upstream: Response;
  try {
    upstream = await fetcher(`${originUrl}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: hasBody ? request.body : null,
      redirect: "manual",
    });
  } catch {
    const body = {
      type: PROBLEM.originUnavailable,
      title: "Origin unavailable",
      status: 502,
      detail: "The API server did not answer. Try again in a moment.",
    };
    return new Response(JSON.stringify(body), {
      status: 502,
      headers: { "content-type": "application/problem+json", "cache-control": "no-store" },
    });
  }
  const response = new Response(upstream.body, upstream);
  stripHopByHop(response.headers);
  return response;
}
