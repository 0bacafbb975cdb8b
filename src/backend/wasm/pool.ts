/**
 * The kernel thread pool: N−1 workers, each with its own instance of the kernel module on the one shared
 * memory, and the calling thread as share 0. A call writes the op and its arguments to the control block
 * (control.ts), bumps the generation word of each worker taking part (waking it with Atomics.notify), runs
 * share 0 itself, then waits (a short spin, then Atomics.wait) until the others have counted themselves done.
 * Idle workers sleep in Atomics.wait; they are unref'd, so the process exits by itself when done.
 */
import {
  ARGC,
  ARGS_BYTES,
  CONTROL_BYTES,
  CONTROL_INTS,
  DONE,
  ERROR,
  ERROR_MSG_BYTES,
  ERROR_MSG_LEN,
  GEN,
  GEN_STRIDE,
  type KernelTable,
  MAX_ARGS,
  MAX_THREADS,
  NTH,
  OP,
} from "./control.js";
import { spawnWorker, type WorkerHandle } from "./node-threads.js";

/** Polls of the done counter before sleeping. */
const SPIN = 20000;

// The worker entry beside this file: worker.ts under tsx (tests), worker.js once compiled to dist/.
const WORKER_URL = new URL(`./worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url);

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private disposed = false;

  private constructor(
    readonly threads: number,
    private readonly memory: WebAssembly.Memory,
    private readonly kernels: KernelTable,
    private readonly workers: readonly WorkerHandle[],
  ) {
    this.ctl = new Int32Array(memory.buffer, CONTROL_BYTES, CONTROL_INTS);
    this.args = new Float64Array(memory.buffer, ARGS_BYTES, MAX_ARGS);
  }

  /** Starts threads − 1 workers; `kernels` is the calling thread's own kernel table. */
  static async create(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    kernels: KernelTable,
    threads: number,
  ): Promise<ThreadPool> {
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)
      throw new RangeError(`thread count must be an integer in 1..${MAX_THREADS}, got ${threads}`);
    const workers: WorkerHandle[] = [];
    for (let tid = 1; tid < threads; tid++) workers.push(spawnWorker(WORKER_URL, { module, memory, tid }));
    try {
      await Promise.all(workers.map((w) => w.ready));
    } catch (err) {
      for (const w of workers) w.terminate();
      throw err;
    }
    return new ThreadPool(threads, memory, kernels, workers);
  }

  /** Runs kernel `op` with `args` on `nth` threads (1 ≤ nth ≤ threads); returns when every share is done. */
  run(op: number, args: readonly number[], nth: number): void {
    const fn = this.kernels.fns[op]!;
    if (nth <= 1 || this.threads === 1) {
      fn(...args, 0, 1);
      return;
    }
    if (this.disposed) throw new Error("thread pool used after dispose()");
    if (args.length > MAX_ARGS)
      throw new Error(`kernel ${this.kernels.names[op]}: ${args.length} arguments > ${MAX_ARGS}`);
    nth = Math.min(nth, this.threads);
    const ctl = this.ctl;
    for (let i = 0; i < args.length; i++) this.args[i] = args[i]!;
    ctl[OP] = op;
    ctl[NTH] = nth;
    ctl[ARGC] = args.length;
    Atomics.store(ctl, ERROR, 0);
    Atomics.store(ctl, DONE, 0);
    for (let w = 1; w < nth; w++) {
      Atomics.add(ctl, GEN + GEN_STRIDE * w, 1);
      Atomics.notify(ctl, GEN + GEN_STRIDE * w, 1);
    }
    let failure: unknown = null;
    try {
      fn(...args, 0, nth);
    } catch (err) {
      failure = err;
    }
    this.waitDone(nth - 1);
    if (failure !== null) throw failure;
    const bad = Atomics.load(ctl, ERROR);
    if (bad !== 0) {
      const bytes = new Uint8Array(this.memory.buffer, ERROR_MSG_BYTES, ERROR_MSG_LEN).slice();
      const end = bytes.indexOf(0);
      const msg = new TextDecoder().decode(bytes.subarray(0, end < 0 ? bytes.length : end));
      throw new Error(`kernel ${this.kernels.names[op]} failed on thread ${bad - 1}: ${msg}`);
    }
  }

  private waitDone(target: number): void {
    const ctl = this.ctl;
    let spins = 0;
    for (;;) {
      const done = Atomics.load(ctl, DONE);
      if (done >= target) return;
      if (++spins < SPIN) continue;
      Atomics.wait(ctl, DONE, done, 1000);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const w of this.workers) w.terminate();
  }
}
