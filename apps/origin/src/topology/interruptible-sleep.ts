/**
 * The retry loops' pause: `sleep(ms)` resolves after `ms`, or at once when `wake()` is called,
 * so closing a source or publisher does not wait out a backoff.
 */
export class InterruptibleSleep {
  #wake: (() => void) | null = null;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  wake(): void {
    this.#wake?.();
  }
}
