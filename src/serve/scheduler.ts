/**
 * Puts generations through the queue and the engine with a per-request timeout, and records their metrics.
 * Each request gets one AbortController fed by the client's disconnect, the timeout and an explicit
 * cancel; the worker engine sees it within a layer (the in-process one between tokens), and the queue slot is
 * freed as soon as the engine is, so the next request starts.
 *
 * @example
 * const run = scheduler.submit(job, request.signal); // throws a 429 ApiError at once when the queue is full
 * const outcome = await run.start((text) => send(text));
 */

import type { Engine, EngineJob, EngineResult } from "../runtime/engine/engine.js";
import { AbortError } from "../runtime/generate.js";
import { ApiError } from "./errors.js";
import type { ServerMetrics } from "./metrics.js";
import { QueueFullError, type RequestQueue } from "./queue.js";

export interface RunOutcome extends EngineResult {
  queueMs: number;
  /** From submit to the first piece of text (null: none came). */
  firstTextMs: number | null;
  totalMs: number;
}

export interface ScheduledRun {
  /** Waits for a slot, then generates; `onText` gets the answer piece by piece. */
  start(onText: (text: string) => void): Promise<RunOutcome>;
  /** Stops it (waiting or generating): for a stream whose reader went away. */
  cancel(): void;
}

export class Scheduler {
  /** Moving average of a generation's seconds, for Retry-After. */
  private avgSeconds = 5;

  constructor(
    readonly engine: Engine,
    readonly queue: RequestQueue,
    readonly metrics: ServerMetrics,
    readonly timeoutMs: number,
  ) {}

  /** Requests admitted and being prepared (image decoded, prompt counted) before they are queued. */
  preparing = 0;

  /**
   * Throws the 429 now if the server is full: requests being prepared count as waiting, so running + waiting +
   * preparing never passes the slots + the queue's places.
   */
  assertCapacity(): void {
    const q = this.queue;
    if (q.active + q.waiting + this.preparing >= q.concurrency + q.maxWaiting)
      throw this.queueFull(new QueueFullError(q.waiting + this.preparing));
  }

  /**
   * Runs a request's preparation within the server's capacity (a 429 at once when it is full), cancelled when
   * the client goes away and cut off (504) at the request's time limit.
   */
  async prepare<T>(clientSignal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.assertCapacity();
    this.preparing++;
    this.updateGauges();
    const limit = requestLimit(clientSignal, this.timeoutMs);
    try {
      return await work(limit.signal);
    } catch (err) {
      if (limit.timedOut() && err instanceof AbortError) throw this.timeoutError();
      throw err;
    } finally {
      limit.cleanup();
      this.preparing--;
      this.updateGauges();
    }
  }

  private timeoutError(): ApiError {
    return new ApiError(
      504,
      `the request took longer than the server's limit of ${this.timeoutMs / 1000} s`,
      null,
      "timeout",
      {},
      "timeout_error",
    );
  }

  private queueFull(err: QueueFullError): ApiError {
    this.metrics.rejected.inc();
    const retry = Math.max(
      1,
      Math.ceil((this.avgSeconds * (this.queue.waiting + 1)) / this.queue.concurrency),
    );
    return new ApiError(
      429,
      err.message,
      null,
      "queue_full",
      { "Retry-After": String(retry) },
      "rate_limit_error",
    );
  }

  /** Reserves a place in the queue. Throws a 429 ApiError (with Retry-After) when it is full. */
  submit(job: EngineJob, clientSignal: AbortSignal): ScheduledRun {
    const t0 = performance.now();
    const limit = requestLimit(clientSignal, this.timeoutMs);
    const { cleanup } = limit;

    let slot: Promise<() => void>;
    try {
      slot = this.queue.acquire(limit.signal);
    } catch (err) {
      cleanup();
      if (err instanceof QueueFullError) throw this.queueFull(err);
      throw err;
    }
    // A rejection (abort while waiting) is handled in start(); this keeps Node from calling it unhandled
    // if start() is never reached.
    slot.catch(() => {});
    this.updateGauges();

    const timeoutError = () => this.timeoutError();

    return {
      cancel: limit.cancel,
      start: async (onText) => {
        let release: (() => void) | null = null;
        let outcome: RunOutcome["finishReason"] | "timeout" | "error" = "error";
        try {
          try {
            release = await slot;
          } catch (err) {
            if (err instanceof AbortError) outcome = limit.timedOut() ? "timeout" : "abort";
            if (limit.timedOut()) throw timeoutError();
            throw err;
          } finally {
            this.updateGauges();
          }
          const queueMs = performance.now() - t0;
          this.metrics.queueSeconds.observe(queueMs / 1000);
          let firstTextMs: number | null = null;
          const g0 = performance.now();
          const result = await this.engine.run(job, {
            signal: limit.signal,
            onText: (text) => {
              if (firstTextMs === null) {
                firstTextMs = performance.now() - t0;
                this.metrics.firstTokenSeconds.observe(firstTextMs / 1000);
              }
              onText(text);
            },
          });
          const genSeconds = (performance.now() - g0) / 1000;
          this.metrics.generationSeconds.observe(genSeconds);
          this.metrics.promptTokens.inc(result.stats.prefillPositions);
          this.metrics.completionTokens.inc(result.stats.generatedTokens);
          const s = result.stats;
          if (s.imageTokens > 0)
            this.metrics.imageCache.inc({
              result: s.imageCacheHits + s.imagePrefixHits > 0 ? "hit" : "miss",
            });
          this.metrics.conversationCachePositions.inc(s.cachedPositions);
          if (result.finishReason === "abort") {
            outcome = limit.timedOut() ? "timeout" : "abort";
            if (limit.timedOut()) throw timeoutError();
            throw new AbortError("the client went away");
          }
          this.avgSeconds = 0.8 * this.avgSeconds + 0.2 * genSeconds;
          outcome = result.finishReason;
          return { ...result, queueMs, firstTextMs, totalMs: performance.now() - t0 };
        } finally {
          this.metrics.generations.inc({ outcome });
          cleanup();
          release?.();
          this.updateGauges();
        }
      },
    };
  }

  private updateGauges(): void {
    this.metrics.queueDepth.set(this.queue.waiting);
    this.metrics.active.set(this.queue.active);
  }
}

/**
 * A request's signal: it fires when the client goes away or when the server's time limit passes (`timedOut()`
 * then says which), or on `cancel()`; `cleanup()` stops the timer and the listening.
 */
function requestLimit(
  clientSignal: AbortSignal,
  timeoutMs: number,
): { signal: AbortSignal; timedOut(): boolean; cancel(): void; cleanup(): void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onClientGone = () => controller.abort();
  clientSignal.addEventListener("abort", onClientGone, { once: true });
  if (clientSignal.aborted) controller.abort();
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    cancel: () => controller.abort(),
    cleanup: () => {
      clearTimeout(timer);
      clientSignal.removeEventListener("abort", onClientGone);
    },
  };
}
