import type { TopologyNode } from "@firstclick/core";
import type { RedirectPlan, ServedBy } from "./route.ts";

/** What a shard gateway said about a code (docs/architecture.md, "Shard gateway"). */
export type LinkAnswer =
  | { kind: "found"; url: string; redirectStatus: RedirectStatus }
  | { kind: "missing" }
  | { kind: "gone"; reason: "deleted" | "expired" };

export type RedirectStatus = 301 | 302 | 307 | 308;

export type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

export type Resolution =
  | { ok: true; answer: LinkAnswer; servedBy: ServedBy; shard: string }
  | { ok: false; shard: string; failures: string[] };

export interface ResolveOptions {
  fetcher: Fetcher;
  timeoutMs: number;
  /** Asked only when a fallback would happen: whether the budget allows it. */
  takeFallback: () => boolean;
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 307, 308]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

function isHttpUrl(s: string): boolean {
  return (s.startsWith("https://") || s.startsWith("http://")) && URL.canParse(s);
}

type AttemptResult = LinkAnswer | { kind: "failed"; why: string };

/**
 * One `GET <gateway>/links/<code>`, bounded by `timeoutMs` (headers and body). Anything but a
 * well-formed 200/404/410 is a failure: the caller moves on to the next node.
 */
export async function askNode(
  node: TopologyNode,
  code: string,
  o: Pick<ResolveOptions, "fetcher" | "timeoutMs">,
): Promise<AttemptResult> {
  const base = node.gatewayUrl.endsWith("/") ? node.gatewayUrl.slice(0, -1) : node.gatewayUrl;
  let res: Response;
  try {
    res = await o.fetcher(`${base}/links/${code}`, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(o.timeoutMs),
    });
  } catch (error) {
    return { kind: "failed", why: `${node.id}: ${error instanceof Error ? error.name : "error"}` };
  }
  if (res.status !== 200 && res.status !== 404 && res.status !== 410) {
    await res.body?.cancel();
    return { kind: "failed", why: `${node.id}: HTTP ${res.status}` };
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return { kind: "failed", why: `${node.id}: unreadable ${res.status} body` };
  }
  if (res.status === 404) return { kind: "missing" };
  if (res.status === 410) {
    const reason = isRecord(body) && body.reason === "expired" ? "expired" : "deleted";
    return { kind: "gone", reason };
  }
  if (
    isRecord(body) &&
    typeof body.url === "string" &&
    isHttpUrl(body.url) &&
    typeof body.redirectStatus === "number" &&
    REDIRECT_STATUSES.has(body.redirectStatus)
  ) {
    return {
      kind: "found",
      url: body.url,
      redirectStatus: body.redirectStatus as RedirectStatus,
    };
  }
  return { kind: "failed", why: `${node.id}: malformed link` };
}

/**
 * Carries a plan out: asks its nodes in order until one answers. In the normal case that is
 * exactly one subrequest. A replica's 404 under the `fallback` strategy costs one more, to the
 * primary, when the budget allows; if the primary cannot answer, the replica's 404 stands.
 */
export async function resolveRedirect(
  plan: RedirectPlan,
  code: string,
  o: ResolveOptions,
): Promise<Resolution> {
  const failures: string[] = [];
  for (const attempt of plan.attempts) {
    const result = await askNode(attempt.node, code, o);
    if (result.kind === "failed") {
      failures.push(result.why);
      continue;
    }
    if (
      result.kind === "missing" &&
      attempt.role === "replica" &&
      plan.fallbackPrimary !== null &&
      o.takeFallback()
    ) {
      const second = await askNode(plan.fallbackPrimary, code, o);
      if (second.kind !== "failed") {
        return { ok: true, answer: second, servedBy: "fallback", shard: plan.shard };
      }
      failures.push(second.why);
    }
    return { ok: true, answer: result, servedBy: attempt.role, shard: plan.shard };
  }
  return { ok: false, shard: plan.shard, failures };
}
