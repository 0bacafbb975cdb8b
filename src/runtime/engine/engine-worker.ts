/**
 * The engine's worker thread: owns one ImpPipeline and runs one job at a time, posting the answer's text
 * piece by piece. A cancelled job stops within one layer: its cancel flag (shared memory) is read before every
 * layer and between tokens, so no message is needed (one could only be read between tokens, after a whole pass).
 */
import { parentPort, workerData } from "node:worker_threads";
import { ImpPipeline } from "../pipeline.js";
import { runOnPipeline } from "./engine.js";
import { serializeError } from "./errors.js";
import { pipelineInfo } from "./in-process-engine.js";
import type { FromWorker, ToWorker, WorkerInit } from "./worker-protocol.js";

const port = parentPort;
if (!port) throw new Error("engine-worker.ts runs as a worker thread (see worker-engine.ts)");
const init = workerData as WorkerInit;
const post = (m: FromWorker) => port.postMessage(m);

let pipeline: ImpPipeline;
try {
  pipeline = await ImpPipeline.load(init.folder, {
    dtype: init.dtype,
    visionDtype: init.visionDtype,
    kvDtype: init.kvDtype,
    visionTower: init.visionTower,
    backend: init.backend,
    threads: init.threads,
    maxImagePixels: init.maxImagePixels,
    imageTokens: init.imageTokens,
    imageCacheBytes: init.imageCacheBytes,
    conversationCacheBytes: init.conversationCacheBytes,
  });
} catch (err) {
  post({ type: "load-error", error: serializeError(err) });
  port.close();
  process.exit(1);
}

/** The running jobs' cancel flags, set on close. */
const running = new Map<number, Int32Array>();
// Cancels arrive as the flags; the signal runOnPipeline takes never fires here.
const never = new AbortController().signal;

port.on("message", (msg: ToWorker) => {
  if (msg.type === "close") {
    for (const flag of running.values()) Atomics.store(flag, 0, 1);
    pipeline.dispose();
    port.close();
  } else if (msg.type === "run") {
    const cancel = msg.cancel;
    running.set(msg.id, cancel);
    runOnPipeline(pipeline, msg.job, {
      signal: never,
      interrupted: () => Atomics.load(cancel, 0) !== 0,
      onText: (text) => post({ type: "text", id: msg.id, text }),
    })
      .then((result) => post({ type: "done", id: msg.id, result }))
      .catch((err: unknown) => post({ type: "error", id: msg.id, error: serializeError(err) }))
      .finally(() => running.delete(msg.id));
  }
});

post({
  type: "ready",
  info: pipelineInfo(pipeline, init.id),
  prompt: {
    imagePlacement: pipeline.model.config.imagePlacement,
    imageTokenIndex: pipeline.model.config.imageTokenIndex,
  },
});
