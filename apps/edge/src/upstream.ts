import {
  GATEWAY_STATUS,
  type LinkAnswer,
  MIN_LSN_PARAM,
  parseLinkAnswer,
  type TopologyNode,
} from "@firstclick/core";
import type { RedirectPlan, ServedBy } from "./route.ts";

export type Fetcher = (input: Request | string, init?: RequestInit) => Promise<Response>;

/** What a redirect can show: every answer but "behind", which only sends it to the next node. */
export type ServedAnswer = Exclude<LinkAnswer, { kind: "behind" }>;

export type Resolution =
  | { ok: true; answer: ServedAnswer; servedBy: ServedBy; shard: string }
  | { ok: false; shard: string; failures: string[] };

export interface ResolveOptions {
  fetcher: Fetcher;
  timeoutMs: number;
  /** Asked only when a fallback would happen: whether the budget allows it. */
  takeFallback: () => boolean;
}

const ANSWER_STATUSES: ReadonlySet<number> = new Set([
  GATEWAY_STATUS.found,
  GATEWAY_STATUS.missing,
  GATEWAY_STATUS.gone,
  GATEWAY_STATUS.behind,
]);

type AttemptResult = LinkAnswer | { kind: "failed"; why: string };

/**
 * One `GET <gateway>/links/<code>[?minLsn=…]`, bounded by `timeoutMs` (headers and body).
 * Anything but a well-formed 200/404/410/425 is a failure: the caller moves on to the next node.
 */
export async function askNode(
  node: TopologyNode,
  code: string,
  o: Pick<ResolveOptions, "fetcher" | "timeoutMs">,
  minLsn: string | null = null,
): Promise<AttemptResult> {
  const base = node.gatewayUrl.endsWith("/") ? node.gatewayUrl.slice(0, -1) : node.gatewayUrl;
  // An LSN is hex digits and one slash: nothing to escape.
  const query = minLsn === null ? "" : `?${MIN_LSN_PARAM}=${minLsn}`;
  let res: Response;
  try {
    res = await o.fetcher(`${base}/links/${code}${query}`, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(o.timeoutMs),
    });
  } catch (error) {
    return { kind: "failed", why: `${node.id}: ${error instanceof Error ? error.name : "error"}` };
  }
  if (!ANSWER_STATUSES.has(res.status)) {
    await res.body?.cancel();
    return { kind: "failed", why: `${node.id}: HTTP ${res.status}` };
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return { kind: "failed", why: `${node.id}: unreadable ${res.status} body` };
  }
  // core's contract, the one the gateway builds its answers with. A found answer is read by
  // core's written-out check of the schema (1.06 µs in workerd against 4.95 µs for zod's
  // safeParse, `npm run bench -w @firstclick/edge`, src/upstream.bench.ts, load ~4; zod cannot
  // compile its checks in workerd, no eval); anything that check refuses goes to the schema.
  const answer = parseLinkAnswer(res.status, body);
  if (answer) return answer;
  return { kind: "failed", why: `${node.id}: malformed link` };
}

/**
 * Carries a plan out: asks its nodes in order until one answers. In the normal case that is
 * exactly one subrequest. A replica's 404 under the `fallback` strategy costs one more, to the
 * primary, when the budget allows; if the primary cannot answer, the replica's 404 stands.
 * Under `position` (plan.minLsn) a node that is behind passes the read to the next one. In a
 * resharding's grace period (plan.grace) a 404 reads the code's old owner before it stands.
 */
export async function resolveRedirect(
  plan: RedirectPlan,
  code: string,
  o: ResolveOptions,
): Promise<Resolution> {
  const failures: string[] = [];
  for (const attempt of plan.attempts) {
    const result = await askNode(attempt.node, code, o, plan.minLsn);
    if (result.kind === "failed") {
      failures.push(result.why);
      continue;
    }
    if (result.kind === "behind") {
      failures.push(`${attempt.node.id}: behind at ${result.replayLsn}`);
      continue;
    }
    if (
      result.kind === "missing" &&
      attempt.role === "replica" &&
      plan.fallbackPrimary !== null &&
      o.takeFallback()
    ) {
      const second = await askNode(plan.fallbackPrimary, code, o);
      if (second.kind !== "failed" && second.kind !== "behind") {
        return orOldOwner(plan, code, o, {
          ok: true,
          answer: second,
          servedBy: "fallback",
          shard: plan.shard,
        });
      }
      failures.push(second.kind === "failed" ? second.why : "fallback primary: behind");
    }
    return orOldOwner(plan, code, o, {
      ok: true,
      answer: result,
      servedBy: attempt.role,
      shard: plan.shard,
    });
  }
  return { ok: false, shard: plan.shard, failures };
}

/** A 404 in a resharding's grace period: the old owner's answer, if it has the link. */
async function orOldOwner(
  plan: RedirectPlan,
  code: string,
  o: ResolveOptions,
  resolved: Extract<Resolution, { ok: true }>,
): Promise<Resolution> {
  if (resolved.answer.kind !== "missing" || plan.grace === null) return resolved;
  const old = await resolveRedirect(plan.grace, code, o);
  return old.ok && old.answer.kind !== "missing" ? old : resolved;
}
