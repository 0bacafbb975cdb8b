/**
 * The Node.js side of the kernel threads (worker_threads): starting a worker, and inside a worker, reading
 * what it was started with. The only Node-specific part of the pool; a browser build swaps this file for
 * one over Web Workers (`new Worker(url, { type: "module" })`, `postMessage`, `self.onmessage`).
 */
import { parentPort, Worker, workerData } from "node:worker_threads";
import type { WorkerInit } from "./control.js";

export interface WorkerHandle {
  /** Resolves once the worker has instantiated the kernels and is waiting for calls. */
  ready: Promise<void>;
  terminate(): void;
}

/**
 * A `.ts` entry (tests and tools run under tsx) needs tsx's loader inside the worker too: on Node 20, tsx
 * registers itself on the main thread only, so the worker starts from a bootstrap that registers it first.
 */
function entry(url: URL): [string | URL, { eval?: boolean }] {
  if (!url.pathname.endsWith(".ts")) return [url, {}];
  const api = import.meta.resolve("tsx/esm/api");
  const src = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return [src, { eval: true }];
}

/** Starts a worker running `url` with `init`; it does not keep the process alive. */
export function spawnWorker(url: URL, init: WorkerInit): WorkerHandle {
  const [script, opts] = entry(url);
  const worker = new Worker(script, { ...opts, workerData: init });
  worker.unref();
  const ready = new Promise<void>((resolve, reject) => {
    worker.once("message", (msg: unknown) =>
      msg === "ready" ? resolve() : reject(new Error(`kernel worker ${init.tid}: ${String(msg)}`)),
    );
    worker.once("error", (err) => reject(err));
    worker.once("exit", (code) =>
      reject(new Error(`kernel worker ${init.tid} exited (code ${code}) before it was ready`)),
    );
  });
  return { ready, terminate: () => void worker.terminate() };
}

/** Inside a worker: its start data and a way to report back to the thread that started it. */
export function workerContext(): { init: WorkerInit; post(msg: string): void } {
  if (!parentPort) throw new Error("worker.ts must run as a worker thread");
  const port = parentPort;
  return { init: workerData as WorkerInit, post: (msg) => port.postMessage(msg) };
}
