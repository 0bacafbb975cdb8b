/**
 * The request queue: at most `concurrency` generations run at once, at most `maxWaiting` wait behind them,
 * and a full queue refuses at once (429) rather than letting latency grow without bound. A waiter whose
 * signal fires (client gone, timeout) leaves the line without ever running.
 *
 * @example
 * const queue = new RequestQueue(1, 16);
 * const release = await queue.acquire(signal); // throws QueueFullError when 16 are already waiting
 * try { await generate(); } finally { release(); }
 */
import { AbortError } from "../runtime/generate.js";
import { ImpError } from "../util/errors.js";

export class QueueFullError extends ImpError {
  constructor(readonly waiting: number) {
    super(`the server is busy: ${waiting} requests are already waiting; retry later`);
  }
}

interface Waiter {
  grant(): void;
}

export class RequestQueue {
  private running = 0;
  private readonly line: Waiter[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxWaiting: number,
  ) {
    if (!(concurrency >= 1) || !(maxWaiting >= 0))
      throw new RangeError("RequestQueue: concurrency ≥ 1, maxWaiting ≥ 0");
  }

  get active(): number {
    return this.running;
  }

  get waiting(): number {
    return this.line.length;
  }

  /**
   * Waits for a free slot and returns the function that frees it (call it exactly once). Throws
   * QueueFullError synchronously when the line is full (so a server can answer 429 before it starts a
   * stream), and rejects with AbortError when `signal` fires while waiting.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new AbortError("cancelled before it was queued"));
    if (this.running < this.concurrency && this.line.length === 0) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.line.length >= this.maxWaiting) throw new QueueFullError(this.line.length);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.line.indexOf(waiter);
        if (i >= 0) this.line.splice(i, 1);
        reject(new AbortError("cancelled while waiting in the queue"));
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          this.running++;
          resolve(this.releaser());
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.line.push(waiter);
    });
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.running--;
      this.line.shift()?.grant();
    };
  }
}
