import {
  type ClickDelivery,
  ClickIngestResultSchema,
  ClickMessageSchema,
  rollUp,
} from "@firstclick/core/clicks";
import { type EdgeBindings, edgeConfig } from "../env.ts";

/**
 * The Worker's `queue()` handler for the clicks Queue: rolls each message's events up by
 * (code, hour, outcome, country, referrer host, device, bot) and POSTs every message's rows to
 * the origin in one request, each message under its own id. The origin records those ids in the
 * same transaction as the counts, so a redelivered message (same id, whatever batch it comes
 * back in) is never counted twice. Any failure → `retryAll`: the events wait in the Queue.
 */

export const INGEST_PATH = "/api/_internal/clicks";
const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * With wrangler.toml's 100 retries (Cloudflare's most), 2 + 4 + … + 256 s then 300 s each: a
 * message outlives about 8 h of the origin or a shard primary being down before it goes to the
 * dead letter queue.
 */
const MAX_RETRY_DELAY_SECONDS = 300;

export interface ClickConsumerOptions {
  originUrl: string;
  internalSecret: string | null;
  fetcher?: (url: string, init: RequestInit) => Promise<Response>;
  timeoutMs?: number;
  logError?: (message: string) => void;
}

/** Backoff between redeliveries: 2, 4, 8 … seconds, capped at five minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(MAX_RETRY_DELAY_SECONDS, 2 ** Math.max(1, attempts));
}

export async function consumeClicks(
  batch: MessageBatch<unknown>,
  options: ClickConsumerOptions,
): Promise<void> {
  const logError = options.logError ?? ((m) => console.error(m));
  const fetcher = options.fetcher ?? ((url, init) => fetch(url, init));
  const deliveries: ClickDelivery[] = [];
  for (const message of batch.messages) {
    const parsed = ClickMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      // A body no redelivery can fix: acknowledged (dropped) and logged, not retried forever.
      logError(`clicks: message ${message.id} is not a click batch; dropped`);
      message.ack();
      continue;
    }
    deliveries.push({ id: message.id, rows: rollUp(parsed.data.events) });
  }
  if (deliveries.length === 0) return;

  const attempts = Math.max(...batch.messages.map((m) => m.attempts));
  const retry = (why: string) => {
    logError(`clicks: batch of ${deliveries.length} messages not counted (${why}); retrying`);
    batch.retryAll({ delaySeconds: retryDelaySeconds(attempts) });
  };
  if (options.internalSecret === null) return retry("INTERNAL_SECRET is not set");
  try {
    const response = await fetcher(`${options.originUrl}${INGEST_PATH}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${options.internalSecret}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ deliveries }),
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    const body: unknown = await response.json().catch(() => null);
    if (response.status !== 200 || !ClickIngestResultSchema.safeParse(body).success) {
      return retry(`origin answered ${response.status}`);
    }
  } catch (error) {
    return retry(error instanceof Error ? error.message : String(error));
  }
  batch.ackAll();
}

/** `queue` of the Worker's default export: `queue: handleClickQueue`. */
export async function handleClickQueue(
  batch: MessageBatch<unknown>,
  env: EdgeBindings,
): Promise<void> {
  const config = edgeConfig(env);
  await consumeClicks(batch, {
    originUrl: config.originUrl,
    internalSecret: config.internalSecret,
  });
}
