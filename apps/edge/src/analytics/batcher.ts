import {
  type ClickEvent,
  type ClickMessage,
  MAX_EVENTS_PER_MESSAGE,
} from "@firstclick/core/clicks";
import type { Background } from "../background.ts";

/**
 * Events collected in the isolate and sent as one Queue message per flush: at `maxEvents`
 * events, or `maxWaitMs` after the first event of a batch, whichever comes first. The wait
 * runs inside the `waitUntil` of the request that opened the batch, so it never delays a
 * response. An isolate evicted inside the wait loses at most that wait's events.
 */

export interface ClickBatcherOptions {
  /** Sends one message (one flush) to the Queue. */
  send: (message: ClickMessage) => Promise<void>;
  maxEvents?: number;
  maxWaitMs?: number;
  logError?: (message: string) => void;
}

export const DEFAULT_MAX_WAIT_MS = 1_000;

export class ClickBatcher {
  readonly #send: (message: ClickMessage) => Promise<void>;
  readonly #maxEvents: number;
  readonly #maxWaitMs: number;
  readonly #logError: (message: string) => void;
  #buffer: ClickEvent[] = [];
  #timerArmed = false;

  constructor(options: ClickBatcherOptions) {
    this.#send = options.send;
    this.#maxEvents = Math.min(options.maxEvents ?? MAX_EVENTS_PER_MESSAGE, MAX_EVENTS_PER_MESSAGE);
    this.#maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.#logError = options.logError ?? ((m) => console.error(m));
  }

  /** Events waiting for the next flush. */
  get pending(): number {
    return this.#buffer.length;
  }

  record(event: ClickEvent, waitUntil: Background): void {
    this.#buffer.push(event);
    if (this.#buffer.length >= this.#maxEvents) {
      waitUntil(this.flush());
      return;
    }
    if (!this.#timerArmed) {
      this.#timerArmed = true;
      waitUntil(
        new Promise((resolve) => setTimeout(resolve, this.#maxWaitMs)).then(() => {
          this.#timerArmed = false;
          return this.flush();
        }),
      );
    }
  }

  /** Sends what is buffered now; never rejects (a failed send is logged, its events dropped). */
  async flush(): Promise<void> {
    if (this.#buffer.length === 0) return;
    const events = this.#buffer;
    this.#buffer = [];
    try {
      await this.#send({ v: 1, events });
    } catch (error) {
      // Not re-buffered: a Queue that refuses sends would otherwise grow the isolate's memory.
      this.#logError(
        `clicks: sending ${events.length} events to the queue failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
