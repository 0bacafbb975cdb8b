/**
 * The control block through which the main thread hands a kernel call to the pool's workers, and the kernel
 * table both sides index by op id. It lives in the first 64 KiB of the shared memory, below the kernels'
 * memory base (scripts/build-wasm.mjs) and the heap. Shared by pool.ts (main) and worker.ts (workers).
 *
 * Int32 words at CONTROL_BYTES:
 *   DONE      workers that finished the current call
 *   ERROR     1 + tid of the first worker whose kernel threw (0: none); its message is at ERROR_MSG_BYTES
 *   OP, NTH, ARGC   the call: kernel index, threads taking part, argument count
 *   COUNTER   a work-item counter kernels take items from with atomic adds (gemm, linearDot, linearQuant;
 *             zeroed by the backend before each such call)
 *   GEN + 16·w     worker w's generation: bumped once per call it takes part in (own cache line each)
 * Arguments are f64 at ARGS_BYTES (pointers, sizes and scalars all fit an f64 exactly).
 */

export const CONTROL_BYTES = 1024;
export const DONE = 0;
export const ERROR = 1;
export const OP = 2;
export const NTH = 3;
export const ARGC = 4;
export const COUNTER = 16;
export const GEN = 32;
export const GEN_STRIDE = 16;
export const MAX_THREADS = 64;
export const CONTROL_INTS = GEN + GEN_STRIDE * MAX_THREADS;
export const ARGS_BYTES = CONTROL_BYTES + CONTROL_INTS * 4;
export const MAX_ARGS = 32;
export const ERROR_MSG_BYTES = ARGS_BYTES + MAX_ARGS * 8;
export const ERROR_MSG_LEN = 2048;
/** First byte after the control block; must stay below the kernels' memory base (65536). */
export const CONTROL_END = ERROR_MSG_BYTES + ERROR_MSG_LEN;

/** Byte address of the work-item counter (passed to kernels that share out items dynamically). */
export const COUNTER_BYTES = CONTROL_BYTES + COUNTER * 4;

/** A kernel as JavaScript sees the export: numbers in (i32/f32/f64 by the wasm signature), nothing out. */
export type KernelFn = (...args: number[]) => void;

/**
 * The kernel table: every function the kernel module exports (assembly/index.ts), in the order of the module's
 * export section, an op id being the index. The main thread and each worker build it from the same compiled
 * module, so they agree on every id by construction, and a new kernel is one export line in assembly/index.ts.
 * The module's helper exports (the relaxed-dot probe, scratch sizes) sit in the table too, never called by id.
 */
export interface KernelTable {
  readonly names: readonly string[];
  readonly fns: readonly KernelFn[];
}

export function kernelTable(module: WebAssembly.Module, instance: WebAssembly.Instance): KernelTable {
  const names = WebAssembly.Module.exports(module)
    .filter((e) => e.kind === "function")
    .map((e) => e.name);
  return { names, fns: names.map((name) => instance.exports[name] as KernelFn) };
}

/** What a worker receives at start. */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  tid: number;
}
