import { PROBLEM, problem } from "@firstclick/core";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { proxy } from "hono/proxy";
import type { Fetcher } from "./upstream.ts";

/** The header the origin reads the client's IP from (its CLIENT_IP_HEADER). */
export const CLIENT_IP_HEADER = "x-firstclick-client-ip";

/**
 * Sends the request on to the origin with hono's proxy (same site for the browser, so the RYOW
 * cookie the origin sets comes back on the next redirect): method, headers including Cookie,
 * the body as a stream. hono drops hop-by-hop headers both ways (RFC 9110 §7.6.1, with those the
 * Connection header names: `strictConnectionProcessing`) and copies the response's header list,
 * so every Set-Cookie stays separate. The origin's own redirects are passed on, not followed.
 */
export async function passThrough(
  c: Context,
  originUrl: string,
  fetcher: Fetcher,
): Promise<Response> {
  const url = new URL(c.req.url);
  const clientIp = c.req.header("cf-connecting-ip");
  try {
    return await proxy(`${originUrl}${url.pathname}${url.search}`, {
      raw: c.req.raw,
      redirect: "manual",
      strictConnectionProcessing: true,
      customFetch: (request) => {
        const headers = new Headers(request.headers);
        // Not in hono's hop-by-hop list, and the origin's own host is in the URL.
        headers.delete("proxy-connection");
        headers.delete("host");
        // The origin keys its create rate limit by this header (docs/architecture.md): always
        // ours, never the client's. CF-Connecting-IP is set by Cloudflare (by miniflare locally).
        headers.delete(CLIENT_IP_HEADER);
        if (clientIp) headers.set(CLIENT_IP_HEADER, clientIp);
        headers.set("x-forwarded-host", url.host);
        headers.set("x-forwarded-proto", url.protocol.slice(0, -1));
        return fetcher(new Request(request, { headers }));
      },
    });
  } catch (error) {
    if (error instanceof HTTPException) {
      // hono refuses a Connection header naming something that is not a header name.
      return problem({
        type: PROBLEM.validation,
        title: "Bad request",
        status: error.status,
        detail: error.message,
      });
    }
    return problem({
      type: PROBLEM.originUnavailable,
      title: "Origin unavailable",
      status: 502,
      detail: "The API server did not answer. Try again in a moment.",
    });
  }
}
