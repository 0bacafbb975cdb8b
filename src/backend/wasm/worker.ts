/**
 * Entry of a kernel worker thread: instantiates the kernel module on the shared memory, reports ready, then
 * serves calls forever: wait for its generation word to change (a short spin, then Atomics.wait), run its
 * share of the kernel named in the control block, count itself done and wake the main thread when last.
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
  kernelTable,
  MAX_ARGS,
  NTH,
  OP,
  type WorkerInit,
} from "./control.js";
import { workerContext } from "./node-threads.js";

/** Polls of the generation word before sleeping (a few microseconds: calls often come back to back). */
const SPIN = 2000;

function serve(init: WorkerInit, post: (msg: string) => void): void {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const { fns } = kernelTable(init.module, instance);
  const ctl = new Int32Array(init.memory.buffer, CONTROL_BYTES, CONTROL_INTS);
  const args = new Float64Array(init.memory.buffer, ARGS_BYTES, MAX_ARGS);
  const gen = GEN + GEN_STRIDE * init.tid;
  const callArgs: number[][] = [];
  for (let n = 0; n <= MAX_ARGS + 2; n++) callArgs.push(new Array<number>(n).fill(0));
  let seen = Atomics.load(ctl, gen);
  post("ready");
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctl, gen) === seen) {
      if (++spins >= SPIN) {
        Atomics.wait(ctl, gen, seen);
        spins = 0;
      }
    }
    seen = Atomics.load(ctl, gen);
    const nth = ctl[NTH]!;
    const argc = ctl[ARGC]!;
    const call = callArgs[argc + 2]!;
    for (let i = 0; i < argc; i++) call[i] = args[i]!;
    call[argc] = init.tid;
    call[argc + 1] = nth;
    try {
      fns[ctl[OP]!]!.apply(null, call);
    } catch (err) {
      if (Atomics.compareExchange(ctl, ERROR, 0, init.tid + 1) === 0) {
        const text = new TextEncoder().encode(err instanceof Error ? err.message : String(err));
        const out = new Uint8Array(init.memory.buffer, ERROR_MSG_BYTES, ERROR_MSG_LEN);
        out.fill(0);
        out.set(text.subarray(0, ERROR_MSG_LEN - 1));
      }
    }
    if (Atomics.add(ctl, DONE, 1) + 1 === nth - 1) Atomics.notify(ctl, DONE);
  }
}

const ctx = workerContext();
try {
  serve(ctx.init, ctx.post);
} catch (err) {
  ctx.post(err instanceof Error ? (err.stack ?? err.message) : String(err));
}
