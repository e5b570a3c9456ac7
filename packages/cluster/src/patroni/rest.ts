/**
 * Patroni's REST API, the parts we read: `GET /patroni` (one member's own view), `GET /cluster`
 * (the scope as Patroni sees it) and `POST /switchover`.
 */
import { z } from "zod";

/** `GET /patroni`. Patroni 3.0 reports a primary as `master`; newer versions as `primary`. */
const MemberStatusSchema = z.object({
  state: z.string(),
  role: z.string(),
  timeline: z.number().optional(),
  cluster_unlocked: z.boolean().optional(),
  replication: z
    .array(z.object({ application_name: z.string(), state: z.string().nullable() }))
    .optional(),
});
export type MemberStatus = z.output<typeof MemberStatusSchema>;

const ClusterSchema = z.object({
  members: z.array(
    z.object({
      name: z.string(),
      role: z.string(),
      state: z.string(),
      timeline: z.number().optional(),
      lag: z.union([z.number(), z.string()]).optional(),
    }),
  ),
});
export type ClusterView = z.output<typeof ClusterSchema>;

const REQUEST_TIMEOUT_MS = 2_000;

/** A member's own status, or null when its REST API does not answer (down, starting). */
export async function memberStatus(apiUrl: string): Promise<MemberStatus | null> {
  try {
    const response = await fetch(`${apiUrl}/patroni`, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    // 503 still carries the JSON body (e.g. a replica whose PostgreSQL is not running yet).
    const parsed = MemberStatusSchema.safeParse(await response.json());
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function clusterView(apiUrl: string): Promise<ClusterView | null> {
  try {
    const response = await fetch(`${apiUrl}/cluster`, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (!response.ok) return null;
    const parsed = ClusterSchema.safeParse(await response.json());
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function isLeaderRole(role: string): boolean {
  return role === "master" || role === "primary" || role === "leader";
}

/**
 * Asks Patroni for a planned switchover. Patroni answers once the switchover is done (it waits
 * for the new leader itself), with 200 and a sentence; anything else is an error with its text.
 */
export async function requestSwitchover(
  apiUrl: string,
  body: { leader: string; candidate?: string },
  timeoutMs: number,
): Promise<string> {
  const response = await fetch(`${apiUrl}/switchover`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(`Patroni refused the switchover (${response.status}): ${text.trim()}`);
  }
  return text.trim();
}
