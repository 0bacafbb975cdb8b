/** The messages between the worker engine (worker-engine.ts) and its worker thread (engine-worker.ts). */
import type { BackendName } from "../../backend/registry.js";
import type { ImagePlacement } from "../../io/template/index.js";
import type { WeightDType } from "../../models/load.js";
import type { KVDType } from "../../nn/kv-cache.js";
import type { EngineInfo, EngineJob, EngineResult } from "./engine.js";
import type { SerializedError } from "./errors.js";
import type { PreparedInput, PrepareInput } from "./prepare.js";

/** How the worker loads its pipeline (plain data: it crosses the thread boundary as workerData). */
export interface WorkerInit {
  folder: string;
  id?: string;
  dtype?: WeightDType;
  visionDtype?: WeightDType;
  kvDtype?: KVDType;
  visionTower?: string;
  backend?: BackendName;
  threads?: number;
  maxImagePixels?: number;
  /** Visual tokens per image (the pipeline's `imageTokens`); the tower's own when absent. */
  imageTokens?: number;
  /** The pipeline's image and conversation cache budgets in bytes (0 or absent: off). */
  imageCacheBytes?: number;
  conversationCacheBytes?: number;
}

/** What the engine's thread needs, beside the folder's tokenizer and template, to build the worker's prompts. */
export interface WorkerPromptSettings {
  imagePlacement: ImagePlacement;
  imageTokenIndex: number;
}

export type ToWorker =
  /**
   * `cancel`: one Int32 in shared memory that the engine sets to 1 when the job is cancelled; the worker reads it
   * before every layer and between tokens, so even a long vision or prefill pass stops at once.
   */
  { type: "run"; id: number; job: EngineJob; cancel: Int32Array } | { type: "close" };

export type FromWorker =
  | { type: "ready"; info: EngineInfo; prompt: WorkerPromptSettings }
  | { type: "load-error"; error: SerializedError }
  | { type: "text"; id: number; text: string }
  | { type: "done"; id: number; result: EngineResult }
  | { type: "error"; id: number; error: SerializedError };

/** How a preparation worker (prepare-worker.ts) builds its prompts: the same rule as the engine's workers. */
export interface PrepareInit {
  folder: string;
  modelType: string;
  imageTokens: number;
  prompt: WorkerPromptSettings;
}

export type ToPrepareWorker = { type: "prepare"; id: number; input: PrepareInput };

export type FromPrepareWorker =
  | { type: "ready" }
  | { type: "load-error"; error: SerializedError }
  /** `recycle`: the worker grew (a large image through a WebAssembly decoder): start a fresh one to free it. */
  | { type: "prepared"; id: number; result: PreparedInput; recycle: boolean }
  | { type: "error"; id: number; error: SerializedError };
