/**
 * One bounded load run with autocannon over keep-alive connections. Every connection takes its
 * next request from ONE shared cursor over the request list, so a mix (1 request in 100 from a
 * creator, 1 in 20 unknown) holds exactly across the whole run, whatever the number of
 * connections or how few requests each manages. Two modes:
 * - timed: for throughput and latency; stops at `seconds` or at `maxRequests`, whichever first;
 * - counted: exactly `count` requests, all answered (for counting the network calls each made),
 *   still stopped at `maxSeconds`, and then marked incomplete.
 */
import autocannon from "autocannon";

export interface BenchRequest {
  path: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  /** Origin only (`http://127.0.0.1:port`); paths come from `requests`. */
  origin: string;
  requests: readonly BenchRequest[];
  connections: number;
  /**
   * Where in `requests` this run starts, advanced as it goes: pass the same object to several
   * runs and they walk the list on from where the last stopped (default: each run from 0).
   */
  cursor?: { next: number };
}

export interface LoadResult {
  /** Completed requests (any status). */
  requests: number;
  /** Requests sent, including those still in flight when the run stopped (their server-side
   * work, e.g. a gateway read, still happens). */
  sent: number;
  seconds: number;
  rps: number;
  /** Latency in ms. */
  p50: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
}

type Mode = { seconds: number; maxRequests: number } | { count: number; maxSeconds: number };

function summarize(result: autocannon.Result): LoadResult {
  const statuses: Record<string, number> = {};
  for (const [status, stat] of Object.entries(result.statusCodeStats ?? {})) {
    statuses[status] = Number((stat as { count: number | string }).count);
  }
  const requests = Object.values(statuses).reduce((sum, n) => sum + n, 0);
  const seconds = result.duration;
  const sent = Number((result.requests as { sent?: number }).sent ?? requests);
  return {
    requests,
    sent: Math.max(sent, requests),
    seconds,
    rps: seconds > 0 ? requests / seconds : 0,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    statuses,
    errors: result.errors + result.timeouts,
  };
}

export function runLoad(options: LoadOptions, mode: Mode): Promise<LoadResult> {
  const list = options.requests;
  if (list.length === 0) throw new Error("runLoad: no requests");
  const shared = options.cursor ?? { next: 0 };
  const bounds =
    "count" in mode
      ? { amount: Math.max(mode.count, options.connections) }
      : {
          duration: mode.seconds,
          maxOverallRequests: Math.max(mode.maxRequests, options.connections),
        };
  const hardStopMs = ("count" in mode ? mode.maxSeconds : mode.seconds + 30) * 1000;
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const instance = autocannon(
      {
        url: options.origin,
        connections: options.connections,
        timeout: 10,
        ...bounds,
        requests: [
          {
            // A new object every time: autocannon keeps the one passed in and merges into it.
            setupRequest: (request) => {
              const next = list[shared.next++ % list.length] ?? list[0];
              return {
                ...request,
                method: next?.method ?? "GET",
                path: next?.path ?? "/",
                headers: next?.headers ?? {},
                ...(next?.body === undefined ? {} : { body: next.body }),
              };
            },
          },
        ],
      },
      (error: unknown, result: autocannon.Result) => {
        clearTimeout(timer);
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(summarize(result));
      },
    );
    // The time bound of a counted run, and a safety net for a timed one.
    timer = setTimeout(() => instance.stop(), hardStopMs);
  });
}

/** A short unmeasured run: isolates, connection pools and prepared statements get warm. */
export async function warmUp(options: LoadOptions, seconds: number): Promise<void> {
  if (seconds <= 0) return;
  await runLoad(options, { seconds, maxRequests: Math.max(50_000, seconds * 25_000) });
}
