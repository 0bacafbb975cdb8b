/**
 * Entry of a kernel Web Worker (browser build): keeps its start message (the compiled kernels, the shared
 * memory, its thread id) for `workerContext`, then runs the same loop as a Node.js worker thread.
 */
import type { WorkerInit } from "../backend/wasm/control.js";

self.onmessage = (e: MessageEvent<WorkerInit>) => {
  self.onmessage = null;
  (globalThis as { impWorkerInit?: WorkerInit }).impWorkerInit = e.data;
  void import("../backend/wasm/worker.js");
};
