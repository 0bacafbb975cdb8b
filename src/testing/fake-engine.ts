/**
 * A scripted engine for tests: answers "w0 w1 w2 …", one word every `tokenDelayMs`, and records each job and
 * whether it was aborted. It makes slow generations (queueing, disconnects, timeouts) testable in
 * milliseconds, with no model.
 */
import type { ChatMessage } from "../io/template/index.js";
import type { Engine, EngineHooks, EngineInfo, EngineJob, EngineResult } from "../runtime/engine/engine.js";
import { type PreparedInput, type PrepareInput, prepareHere } from "../runtime/engine/prepare.js";
import { AbortError, emptyStats } from "../runtime/generate.js";

export interface FakeRun {
  job: EngineJob;
  aborted: boolean;
  words: number;
  done: boolean;
}

export class FakeEngine implements Engine {
  readonly info: EngineInfo;
  readonly ready = true;
  readonly slots = 1;
  readonly runs: FakeRun[] = [];
  private waiters: Array<() => void> = [];

  constructor(
    private readonly opts: {
      tokenDelayMs?: number;
      words?: number;
      contextLength?: number;
      imageTokens?: number;
      maxPromptChars?: number | null;
      /** How long each request's preparation takes (it ends early when its signal fires). */
      prepareDelayMs?: number;
    } = {},
  ) {
    this.info = {
      id: "fake-model",
      modelType: "imp_qwen2",
      contextLength: opts.contextLength ?? 512,
      imageTokens: opts.imageTokens ?? 16,
      anyImageTokens: true,
      backend: "none",
      threads: 1,
      maxPromptChars: opts.maxPromptChars ?? null,
    };
    this.prepareDelayMs = opts.prepareDelayMs ?? 0;
  }

  /** One position per word of every message, plus the image's. */
  promptPositions(messages: readonly ChatMessage[], hasImage: boolean, imageTokens?: number): number {
    const words = messages.reduce((n, m) => n + m.content.split(/\s+/).filter(Boolean).length, 0);
    return words + (hasImage ? (imageTokens ?? this.info.imageTokens) : 0);
  }

  /** Preparations started, and those whose signal fired before they ended. */
  prepared = 0;
  prepareAborted = 0;
  /** How long each preparation takes from now on. */
  prepareDelayMs: number;

  /** Decodes for real (the bounds are under test), counts with promptPositions, after `prepareDelayMs`. */
  async prepare(input: PrepareInput, signal: AbortSignal): Promise<PreparedInput> {
    this.prepared++;
    await sleep(this.prepareDelayMs, signal);
    if (signal.aborted) {
      this.prepareAborted++;
      throw new AbortError("cancelled while it was prepared");
    }
    return prepareHere((m, hasImage, n) => this.promptPositions(m, hasImage, n), input);
  }

  /** Resolves once `n` runs have started. */
  started(n: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.runs.length >= n) resolve();
        else this.waiters.push(check);
      };
      check();
    });
  }

  async run(job: EngineJob, hooks: EngineHooks): Promise<EngineResult> {
    const run: FakeRun = { job, aborted: false, words: 0, done: false };
    this.runs.push(run);
    for (const w of this.waiters.splice(0)) w();
    const total = Math.min(job.maxNewTokens, this.opts.words ?? 8);
    const stats = emptyStats();
    try {
      for (let i = 0; i < total; i++) {
        await sleep(this.opts.tokenDelayMs ?? 0, hooks.signal);
        if (hooks.signal.aborted) {
          run.aborted = true;
          return { finishReason: "abort", stats };
        }
        hooks.onText(i === 0 ? "w0" : ` w${i}`);
        run.words++;
        stats.generatedTokens++;
      }
      stats.finishReason = "length";
      return { finishReason: "length", stats };
    } finally {
      run.done = true;
    }
  }

  async close(): Promise<void> {}
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
