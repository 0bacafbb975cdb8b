/**
 * A small pool of preparation workers (prepare-worker.ts): each request's image decoding and prompt tokenizing
 * run there, never on the HTTP thread, a few at a time; the rest wait in line. A request that is cancelled
 * (client gone, timeout) leaves the line, or, if a worker is already on it, that worker is ended and a fresh
 * one started, so hostile input costs no more than the time until the client gives up.
 *
 * @example
 * const pool = await PreparePool.start(init, 2);
 * const { positions, image } = await pool.run({ messages, image: { bytes, field, maxPixels } }, signal);
 */
import type { Worker } from "node:worker_threads";
import { EngineError } from "../../util/errors.js";
import { AbortError } from "../generate.js";
import { deserializeError } from "./errors.js";
import type { PreparedInput, PrepareInput } from "./prepare.js";
import type { FromPrepareWorker, PrepareInit, ToPrepareWorker } from "./worker-protocol.js";
import { startWorker } from "./worker-thread.js";

interface Task {
  id: number;
  input: PrepareInput;
  signal: AbortSignal;
  resolve(r: PreparedInput): void;
  reject(e: unknown): void;
  onAbort(): void;
}

class PrepareSlot {
  worker: Worker | null = null;
  ready = false;
  task: Task | null = null;
  /** Set when the pool closes: no more restarts. */
  stopped = false;

  constructor(
    private readonly init: PrepareInit,
    private readonly onIdle: () => void,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts a worker; resolves once it has loaded the tokenizer. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = startWorker("prepare-worker", this.init);
      this.worker = worker;
      this.ready = false;
      let loaded = false;
      worker.on("message", (m: FromPrepareWorker) => {
        if (m.type === "ready") {
          loaded = true;
          this.ready = true;
          resolve();
          this.onIdle();
        } else if (m.type === "load-error") reject(deserializeError(m.error));
        else this.onResult(m);
      });
      const fail = (err: Error) => {
        if (this.worker !== worker) return; // replaced on purpose
        this.worker = null;
        this.ready = false;
        if (!loaded) return reject(err);
        if (this.stopped) return;
        this.finish()?.reject(
          new EngineError(`the preparation worker stopped: ${err.message}`, "engine_failed"),
        );
        this.restart();
      };
      worker.on("error", fail);
      worker.on("exit", (code) => fail(new Error(`exited with code ${code}`)));
    });
  }

  /** Ends the worker (whatever it is doing) and starts a fresh one. */
  restart(): void {
    if (this.stopped) return;
    const old = this.worker;
    this.worker = null;
    this.ready = false;
    if (old) void old.terminate();
    this.start().catch((e: unknown) =>
      this.log(`imp serve: a preparation worker failed to start: ${String(e)}`),
    );
  }

  run(task: Task): void {
    this.task = task;
    const bytes = task.input.image?.bytes;
    if (bytes && task.input.image) {
      // Transfer the file (no copy); a view into a larger buffer is copied first so only it moves.
      const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      const data = own && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
      const input = { ...task.input, image: { ...task.input.image, bytes: data } };
      this.worker!.postMessage({ type: "prepare", id: task.id, input } satisfies ToPrepareWorker, [
        data.buffer as ArrayBuffer,
      ]);
    } else
      this.worker!.postMessage({ type: "prepare", id: task.id, input: task.input } satisfies ToPrepareWorker);
  }

  /** Detaches and returns the running task. */
  finish(): Task | null {
    const task = this.task;
    this.task = null;
    task?.signal.removeEventListener("abort", task.onAbort);
    return task;
  }

  private onResult(m: Exclude<FromPrepareWorker, { type: "ready" | "load-error" }>): void {
    if (this.task?.id !== m.id) return;
    const task = this.finish()!;
    if (m.type === "prepared") {
      task.resolve(m.result);
      // A worker whose decoder memory grew is replaced, so the server's memory comes back down.
      if (m.recycle) {
        this.restart();
        return;
      }
    } else task.reject(deserializeError(m.error));
    this.onIdle();
  }
}

export class PreparePool {
  private readonly line: Task[] = [];
  private nextId = 1;
  private closed = false;

  private constructor(private readonly slots: PrepareSlot[]) {}

  /** Starts `size` workers and waits until each has loaded the tokenizer. */
  static async start(
    init: PrepareInit,
    size: number,
    log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ): Promise<PreparePool> {
    let pool: PreparePool | null = null;
    const slots = Array.from({ length: size }, () => new PrepareSlot(init, () => pool?.dispatch(), log));
    pool = new PreparePool(slots);
    try {
      await Promise.all(slots.map((s) => s.start()));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Requests being prepared or waiting for a worker. */
  get pending(): number {
    return this.line.length + this.slots.filter((s) => s.task).length;
  }

  /** Decodes and counts in a worker. Rejects with AbortError when `signal` fires first. */
  run(input: PrepareInput, signal: AbortSignal): Promise<PreparedInput> {
    if (this.closed) return Promise.reject(new EngineError("the server is shutting down", "shutting_down"));
    if (signal.aborted) return Promise.reject(new AbortError("cancelled before it was prepared"));
    return new Promise((resolve, reject) => {
      const task: Task = {
        id: this.nextId++,
        input,
        signal,
        resolve,
        reject,
        onAbort: () => {
          const i = this.line.indexOf(task);
          if (i >= 0) this.line.splice(i, 1);
          else {
            const slot = this.slots.find((s) => s.task === task);
            if (slot) {
              slot.finish();
              slot.restart();
            }
          }
          reject(new AbortError("cancelled while it was prepared"));
        },
      };
      signal.addEventListener("abort", task.onAbort, { once: true });
      this.line.push(task);
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.line.length === 0) return;
      if (slot.ready && !slot.task) slot.run(this.line.shift()!);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.line.splice(0)) {
      task.signal.removeEventListener("abort", task.onAbort);
      task.reject(new EngineError("the server is shutting down", "shutting_down"));
    }
    await Promise.all(
      this.slots.map(async (s) => {
        s.stopped = true;
        s.finish()?.reject(new EngineError("the server is shutting down", "shutting_down"));
        const w = s.worker;
        s.worker = null;
        s.ready = false;
        if (w) await w.terminate();
      }),
    );
  }
}
