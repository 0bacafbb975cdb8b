/**
 * The in-tab engine (browser build): a dedicated Web Worker that loads a model folder's files into the in-memory
 * file table (vfs.ts), fetched ("load") or picked by the user ("load-files", read in place), and answers with the
 * same ImpPipeline as Node.js, on the wasm kernels in nested kernel workers; the page's thread stays free.
 * Messages (ToEngine, FromEngine below): "load" → "progress"…, "ready" | "error"; "load-files" → "ready" | "error";
 * "run" → "text"…, then "done" | "error"; "abort" stops a run within a layer (the run's shared cancel flag).
 */

import { decodeImage } from "../io/image/index.js";
import type { WeightDType } from "../models/load.js";
import type { KVDType } from "../nn/kv-cache.js";
import { checkText, type Turn, toTemplateMessages } from "../runtime/engine/conversation.js";
import { runOnPipeline } from "../runtime/engine/engine.js";
import type { GenerationStats } from "../runtime/generate.js";
import { ImpPipeline } from "../runtime/pipeline.js";
import type { SamplingOptions } from "../runtime/sampler.js";
import { addFile, clearFiles } from "./vfs.js";

/** The tab's cache sizes: the image embeddings of a few images, and one conversation's KV cache. */
const IMAGE_CACHE_BYTES = 64 * 1024 * 1024;
const CONVERSATION_CACHE_BYTES = 512 * 1024 * 1024;

/** How a model is held: kernel threads and weight formats (as `ImpPipeline.load` takes them). */
interface OpenOptions {
  threads?: number;
  dtype?: WeightDType;
  visionDtype?: WeightDType;
  kvDtype?: KVDType;
}

/** A conversation turn as the page has it (its text parts joined); the image's turn is marked. */
export type PageTurn = Pick<Turn, "role" | "text" | "hasImage">;

export type ToEngine =
  | (OpenOptions & {
      type: "load";
      /** Where the files are (e.g. "/model/"), with the headers to fetch them (an API key). */
      base: string;
      files: string[];
      headers?: Record<string, string>;
    })
  | (OpenOptions & {
      type: "load-files";
      /** A model folder's files, by path inside it ("config.json"). */
      files: Array<{ path: string; data: Blob }>;
    })
  | {
      type: "run";
      id: number;
      /** Mapped onto the template as the server maps a request's messages (serve/conversation.ts). */
      turns: PageTurn[];
      image?: Uint8Array;
      /** Visual tokens for the image (the model's own when absent). */
      imageTokens?: number;
      maxNewTokens: number;
      sampling: SamplingOptions;
      cancel: Int32Array;
    };

export type FromEngine =
  | { type: "progress"; file: string; loaded: number; total: number }
  | { type: "ready"; modelType: string; threads: number; imageTokens: number }
  | { type: "text"; id: number; text: string }
  | { type: "done"; id: number; stats: GenerationStats; aborted: boolean }
  | { type: "error"; id?: number; message: string };

const post = (m: FromEngine) => postMessage(m);
const MODEL = "/model";
let pipeline: ImpPipeline | null = null;
/** One answer at a time: the pipeline's KV cache and kernels serve one generation. */
let busy = false;

// generate.ts yields with setImmediate between tokens; a worker has none, and a message round trip is the
// fastest yield it has (setTimeout would clamp to 4 ms after a few).
if (typeof (globalThis as { setImmediate?: unknown }).setImmediate !== "function") {
  const channel = new MessageChannel();
  const queue: Array<() => void> = [];
  channel.port1.onmessage = () => queue.shift()?.();
  (globalThis as unknown as { setImmediate: (f: () => void) => void }).setImmediate = (f) => {
    queue.push(f);
    channel.port2.postMessage(0);
  };
}

/** Forgets the loaded model and its files, before another is loaded. */
function reset(): void {
  if (busy) throw new Error("the in-tab engine is answering: stop the answer before loading another model");
  pipeline?.dispose();
  pipeline = null;
  clearFiles(MODEL);
}

/**
 * A response's body as a Blob, posting progress at most every 200 ms on the way: the bytes only pass through a
 * counting stream, so the browser keeps a large file as it keeps any Blob (not as one JavaScript array).
 */
async function receive(r: Response, file: string): Promise<Blob> {
  const total = Number(r.headers.get("content-length")) || 0;
  if (!r.body) return r.blob();
  let loaded = 0;
  let last = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, out) {
      loaded += chunk.byteLength;
      const now = performance.now();
      if (now - last > 200) {
        last = now;
        post({ type: "progress", file, loaded, total });
      }
      out.enqueue(chunk);
    },
  });
  return new Response(r.body.pipeThrough(counter)).blob();
}

async function load(m: Extract<ToEngine, { type: "load" }>): Promise<void> {
  reset();
  for (const name of m.files) {
    const url = new URL(name, new URL(m.base, self.location.href));
    const r = await fetch(url, { headers: m.headers });
    if (!r.ok) throw new Error(`${url.href}: HTTP ${r.status}`);
    const blob = await receive(r, name);
    addFile(`${MODEL}/${name}`, blob);
    post({ type: "progress", file: name, loaded: blob.size, total: blob.size });
  }
  await open(m);
}

async function loadFiles(m: Extract<ToEngine, { type: "load-files" }>): Promise<void> {
  reset();
  for (const f of m.files) addFile(`${MODEL}/${f.path}`, f.data);
  await open(m);
}

async function open(m: OpenOptions): Promise<void> {
  pipeline = await ImpPipeline.load(MODEL, {
    backend: "wasm",
    threads: m.threads,
    dtype: m.dtype,
    visionDtype: m.visionDtype,
    kvDtype: m.kvDtype,
    // As `imp serve`: a follow-up about the same image skips the tower, and the conversation's prefix is kept.
    imageCacheBytes: IMAGE_CACHE_BYTES,
    conversationCacheBytes: CONVERSATION_CACHE_BYTES,
  });
  post({
    type: "ready",
    modelType: pipeline.model.config.modelType,
    threads: pipeline.backend.threads,
    imageTokens: pipeline.imageTokens,
  });
}

async function run(m: Extract<ToEngine, { type: "run" }>): Promise<void> {
  if (!pipeline) throw new Error("no model loaded");
  if (busy) throw new Error("the in-tab engine answers one question at a time");
  busy = true;
  try {
    await answer(pipeline, m);
  } finally {
    busy = false;
  }
}

async function answer(pipeline: ImpPipeline, m: Extract<ToEngine, { type: "run" }>): Promise<void> {
  const messages = toTemplateMessages(
    m.turns.map((t, i) => ({
      ...t,
      text: checkText(t.text, `messages[${i}].content`),
      field: `messages[${i}].role`,
    })),
  );
  const image = m.image ? await decodeImage(m.image, { source: "the image" }) : undefined;
  // The server's path (serve/engine.ts); a cancel arrives as the shared flag, read before every layer.
  const result = await runOnPipeline(
    pipeline,
    {
      messages,
      image,
      imageTokens: m.imageTokens,
      maxNewTokens: m.maxNewTokens,
      sampling: m.sampling,
      stop: [],
    },
    {
      signal: new AbortController().signal,
      interrupted: () => Atomics.load(m.cancel, 0) !== 0,
      onText: (text) => post({ type: "text", id: m.id, text }),
    },
  );
  post({ type: "done", id: m.id, stats: result.stats, aborted: result.finishReason === "abort" });
}

self.onmessage = (e: MessageEvent<ToEngine>) => {
  const m = e.data;
  const job = m.type === "load" ? load(m) : m.type === "load-files" ? loadFiles(m) : run(m);
  job.catch((err: unknown) =>
    post({
      type: "error",
      id: m.type === "run" ? m.id : undefined,
      message: err instanceof Error ? err.message : String(err),
    }),
  );
};
