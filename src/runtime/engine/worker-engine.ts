/**
 * The server's engine: the model runs in worker threads (engine-worker.ts), one pipeline and one job at a
 * time each, so minutes of prefill never block the HTTP event loop (health checks, queueing, disconnects).
 * An abort sets the job's cancel flag in shared memory, which the worker reads before every layer, so it stops
 * within a layer even inside a vision or prefill pass. Requests are prepared (image decoded, prompt counted) in
 * a small pool of other threads (prepare-pool.ts). A worker that dies fails its job with a 500 and
 * is started again; the server itself keeps running.
 *
 * @example
 * const engine = await WorkerEngine.start({ folder: "models/imp-tiny", backend: "wasm" });
 * const app = createApp({ engine });
 */
import { basename } from "node:path";
import type { Worker } from "node:worker_threads";
import { EngineError } from "../../util/errors.js";
import { AbortError } from "../generate.js";
import type { Engine, EngineHooks, EngineInfo, EngineJob, EngineResult } from "./engine.js";
import { deserializeError } from "./errors.js";
import type { PreparedInput, PrepareInput } from "./prepare.js";
import { PreparePool } from "./prepare-pool.js";
import type { FromWorker, ToWorker, WorkerInit, WorkerPromptSettings } from "./worker-protocol.js";
import { startWorker } from "./worker-thread.js";

function newWorker(workerData: WorkerInit): Worker {
  return startWorker("engine-worker", workerData);
}

export interface WorkerEngineOptions extends WorkerInit {
  /** Worker threads, each with its own copy of the model (default 1). */
  workers?: number;
  /** Worker threads that decode requests' images and count their prompts (default 2; prepare-pool.ts). */
  prepareWorkers?: number;
  /** Called with a line to log (worker restarts). */
  log?: (line: string) => void;
}

interface Pending {
  hooks: EngineHooks;
  /** Set to 1 on abort; the worker reads it before every layer. */
  cancel: Int32Array;
  resolve(r: EngineResult): void;
  reject(e: unknown): void;
  onAbort: () => void;
}

/** One worker thread and the job it runs. */
class EngineSlot {
  worker: Worker | null = null;
  ready = false;
  job: { id: number; pending: Pending } | null = null;
  private readyWaiters: Array<() => void> = [];

  constructor(
    private readonly init: WorkerInit,
    private readonly onFatal: (slot: EngineSlot, err: Error) => void,
  ) {}

  /** Starts the worker; resolves with what it reports once the model is loaded. */
  start(): Promise<{ info: EngineInfo; prompt: WorkerPromptSettings }> {
    return new Promise((resolve, reject) => {
      const worker = newWorker(this.init);
      this.worker = worker;
      let loaded = false;
      worker.on("message", (m: FromWorker) => {
        if (m.type === "ready") {
          loaded = true;
          this.ready = true;
          for (const w of this.readyWaiters.splice(0)) w();
          resolve({ info: m.info, prompt: m.prompt });
        } else if (m.type === "load-error") reject(deserializeError(m.error));
        else this.onJobMessage(m);
      });
      const fail = (err: Error) => {
        if (this.worker !== worker) return;
        this.worker = null;
        this.ready = false;
        if (!loaded) reject(err);
        else this.onFatal(this, err);
      };
      worker.on("error", fail);
      worker.on("exit", (code) => fail(new Error(`the engine worker exited with code ${code}`)));
    });
  }

  whenReady(signal: AbortSignal): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new AbortError("cancelled while the engine restarted"));
      signal.addEventListener("abort", onAbort, { once: true });
      this.readyWaiters.push(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  send(m: ToWorker): void {
    if (m.type === "run" && m.job.image) {
      // Transfer the pixels (no copy); a view into a larger buffer is copied first so only it moves.
      const d = m.job.image.data;
      const own =
        d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.buffer instanceof ArrayBuffer;
      const data = own ? d : d.slice();
      const job = { ...m.job, image: { ...m.job.image, data } };
      this.worker?.postMessage({ ...m, job }, [data.buffer as ArrayBuffer]);
    } else this.worker?.postMessage(m);
  }

  private onJobMessage(m: Exclude<FromWorker, { type: "ready" | "load-error" }>): void {
    const job = this.job;
    if (!job || job.id !== m.id) return;
    if (m.type === "text") job.pending.hooks.onText(m.text);
    else {
      this.job = null;
      job.pending.hooks.signal.removeEventListener("abort", job.pending.onAbort);
      if (m.type === "done") job.pending.resolve(m.result);
      else job.pending.reject(deserializeError(m.error));
    }
  }

  /** Fails the running job (the worker died under it). */
  failJob(err: Error): void {
    const job = this.job;
    this.job = null;
    if (!job) return;
    job.pending.hooks.signal.removeEventListener("abort", job.pending.onAbort);
    job.pending.reject(
      new EngineError(`the engine stopped while generating: ${err.message}`, "engine_failed"),
    );
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.ready = false;
    if (!w) return;
    // A job in the middle of a pass stops at its next layer, so the worker reads "close" soon.
    if (this.job) Atomics.store(this.job.pending.cancel, 0, 1);
    w.postMessage({ type: "close" } satisfies ToWorker);
    // A worker stuck in compute cannot read "close": give it a moment, then end it.
    const timer = setTimeout(() => void w.terminate(), 2000);
    await new Promise<void>((r) => w.once("exit", () => r()));
    clearTimeout(timer);
  }
}

export class WorkerEngine implements Engine {
  private nextId = 1;
  private closing = false;

  private constructor(
    readonly info: EngineInfo,
    private readonly preparer: PreparePool,
    private readonly pool: EngineSlot[],
    private readonly log: (line: string) => void,
  ) {}

  /** Starts the workers and waits until each has loaded the model. */
  static async start(opts: WorkerEngineOptions): Promise<WorkerEngine> {
    const n = opts.workers ?? 1;
    const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const { workers: _w, log: _l, prepareWorkers, ...init } = opts;
    const init2: WorkerInit = { ...init, id: init.id ?? basename(init.folder) };
    let engine: WorkerEngine | null = null;
    const onFatal = (slot: EngineSlot, err: Error) => engine?.restart(slot, err);
    const pool = Array.from({ length: n }, () => new EngineSlot(init2, onFatal));
    let preparer: PreparePool | null = null;
    try {
      const started = await Promise.all(pool.map((s) => s.start()));
      const { info, prompt } = started[0]!;
      // The same prompt rule as the worker's pipeline, in threads of their own, so bad input is refused before
      // it is queued without blocking this thread or waiting behind a generation.
      preparer = await PreparePool.start(
        { folder: init2.folder, modelType: info.modelType, imageTokens: info.imageTokens, prompt },
        prepareWorkers ?? 2,
        log,
      );
      engine = new WorkerEngine(info, preparer, pool, log);
      return engine;
    } catch (err) {
      await Promise.all([...pool.map((s) => s.stop()), preparer?.close()]);
      throw err;
    }
  }

  get ready(): boolean {
    return !this.closing && this.pool.some((s) => s.ready);
  }

  get slots(): number {
    return this.pool.length;
  }

  prepare(input: PrepareInput, signal: AbortSignal): Promise<PreparedInput> {
    return this.preparer.run(input, signal);
  }

  async run(job: EngineJob, hooks: EngineHooks): Promise<EngineResult> {
    if (this.closing) throw new EngineError("the server is shutting down", "shutting_down");
    let slot = this.pool.find((s) => s.ready && !s.job);
    if (!slot) {
      // The queue never runs more jobs than slots, so the free slot is one whose worker is restarting.
      slot = this.pool.find((s) => !s.job);
      if (!slot) throw new Error("WorkerEngine.run: more jobs than slots (callers go through the queue)");
      await slot.whenReady(hooks.signal);
    }
    const s = slot;
    const id = this.nextId++;
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    return new Promise<EngineResult>((resolve, reject) => {
      const onAbort = () => Atomics.store(cancel, 0, 1);
      s.job = { id, pending: { hooks, cancel, resolve, reject, onAbort } };
      hooks.signal.addEventListener("abort", onAbort, { once: true });
      s.send({ type: "run", id, job, cancel });
      if (hooks.signal.aborted) onAbort();
    });
  }

  private restart(slot: EngineSlot, err: Error): void {
    slot.failJob(err);
    if (this.closing) return;
    this.log(`imp serve: ${err.message}; starting it again`);
    slot
      .start()
      .catch((e: unknown) => this.log(`imp serve: the engine worker failed to restart: ${String(e)}`));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.pool.map((s) => s.stop()), this.preparer.close()]);
  }
}
