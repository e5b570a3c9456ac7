/**
 * Bounds the `fallback` strategy's extra primary reads per isolate: a scanner requesting random
 * codes gets a 404 from a replica for each, and without a bound every one of them would also
 * hit a primary. A token bucket holding `perMinute` tokens, refilled continuously; when it is
 * empty the replica's 404 stands (the page still says to retry in a few seconds).
 *
 * Per isolate, not global: Cloudflare runs many isolates, so the bound on a primary is
 * `perMinute × isolates`. That is still a bound proportional to edge capacity rather than to
 * attacker traffic, and it costs no network call (a global counter would cost one per 404).
 */
export class FallbackBudget {
  readonly #perMinute: number;
  #tokens: number;
  #at: number;

  constructor(perMinute: number, nowMs: number) {
    this.#perMinute = Math.max(0, perMinute);
    this.#tokens = this.#perMinute;
    this.#at = nowMs;
  }

  get perMinute(): number {
    return this.#perMinute;
  }

  /** Takes one fallback if the budget allows it. */
  tryTake(nowMs: number): boolean {
    if (this.#perMinute === 0) return false;
    const elapsed = Math.max(0, nowMs - this.#at);
    this.#tokens = Math.min(this.#perMinute, this.#tokens + (elapsed * this.#perMinute) / 60_000);
    this.#at = Math.max(this.#at, nowMs);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
