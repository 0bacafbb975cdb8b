/**
 * The browser build's kernel threads (it replaces src/backend/wasm/node-threads.ts): dedicated Web Workers
 * running the bundled kernel-worker.js. A Web Worker gets its start data as its first message, not at start as a
 * worker thread does, so kernel-worker.ts keeps it where `workerContext` finds it before the pool's code runs.
 */
import type { WorkerInit } from "../backend/wasm/control.js";

export interface WorkerHandle {
  ready: Promise<void>;
  terminate(): void;
}

const KERNEL_WORKER = new URL("./kernel-worker.js", import.meta.url);

export function spawnWorker(_url: URL, init: WorkerInit): WorkerHandle {
  const worker = new Worker(KERNEL_WORKER, { type: "module", name: `imp-kernels-${init.tid}` });
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent) =>
      e.data === "ready" ? resolve() : reject(new Error(`kernel worker ${init.tid}: ${String(e.data)}`));
    worker.onerror = (e: ErrorEvent) => reject(new Error(`kernel worker ${init.tid}: ${e.message}`));
  });
  worker.postMessage(init);
  return { ready, terminate: () => worker.terminate() };
}

/** Set by kernel-worker.ts from the first message before the kernels' loop is imported. */
export function workerContext(): { init: WorkerInit; post(msg: string): void } {
  const init = (globalThis as { impWorkerInit?: WorkerInit }).impWorkerInit;
  if (!init) throw new Error("kernel-worker.js: no start message yet");
  return { init, post: (msg) => postMessage(msg) };
}
