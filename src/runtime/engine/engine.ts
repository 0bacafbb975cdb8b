/**
 * The engine: what runs generations for the server. The HTTP side only sees this interface, so the model can
 * run in a worker thread (worker-engine.ts, the default: compute never blocks the event loop) or in-process
 * (tests, or a browser-like single thread), and tests can swap in a scripted engine.
 */
import type { RgbImage } from "../../io/image/index.js";
import type { ChatMessage } from "../../io/template/index.js";
import { visualTokensProblem } from "../../models/multimodal.js";
import { RequestError } from "../../util/errors.js";
import type { GenerationStats } from "../generate.js";
import { AbortError, emptyStats } from "../generate.js";
import type { ImpPipeline } from "../pipeline.js";
import type { SamplingOptions } from "../sampler.js";
import type { PreparedInput, PrepareInput } from "./prepare.js";

/** One generation, as the engine needs it: validated, the image decoded, `<image>` marking where it goes. */
export interface EngineJob {
  messages: ChatMessage[];
  image?: RgbImage;
  /** Visual tokens for the image (checkImageTokens); the engine's default when absent. */
  imageTokens?: number;
  maxNewTokens: number;
  sampling: SamplingOptions;
  stop: string[];
}

export interface EngineResult {
  /** "abort": the signal fired (client gone or timed out) before the model stopped by itself. */
  finishReason: "stop" | "length" | "abort";
  stats: GenerationStats;
}

export interface EngineHooks {
  signal: AbortSignal;
  /**
   * Read before every layer of the model (generate.ts): a worker's view of its parent's cancel flag, which the
   * signal cannot carry while the worker's thread is busy in a pass.
   */
  interrupted?: () => boolean;
  /** Each piece of answer text as it is decoded. */
  onText(text: string): void;
}

export interface EngineInfo {
  /** The model's id in /v1/models and responses. */
  id: string;
  modelType: string;
  /** Positions the model can attend over (prompt + answer). */
  contextLength: number;
  /** Embeddings one image adds to the prompt by default; 0 when the model has no vision tower. */
  imageTokens: number;
  /** The tower takes any square number of visual tokens per request (SigLIP); false: only `imageTokens`. */
  anyImageTokens: boolean;
  backend: string;
  threads: number;
  /**
   * No prompt of more characters than this fits the context (prepare.ts maxPromptChars), or null when the
   * tokenizer gives no bound: longer text is refused before it is tokenized.
   */
  maxPromptChars: number | null;
}

export interface Engine {
  readonly info: EngineInfo;
  /** False while (re)loading: /health says so. */
  readonly ready: boolean;
  /** Jobs it can run at once (the queue's concurrency). */
  readonly slots: number;
  /**
   * Decodes a request's image and counts its prompt's positions (text tokens + image embeddings), so bad input
   * is refused before it is queued; off the caller's thread where the engine has threads (a small pool, with
   * waiting and cancellation). Rejects with AbortError when `signal` fires first, with a RequestError naming
   * the field for a bad image.
   */
  prepare(input: PrepareInput, signal: AbortSignal): Promise<PreparedInput>;
  /** Runs one job. Resolves when the model is free again (also after an abort); rejects on a failure. */
  run(job: EngineJob, hooks: EngineHooks): Promise<EngineResult>;
  close(): Promise<void>;
}

/**
 * A request's number of visual tokens, checked against what the model's tower takes: a square number of patches
 * for a SigLIP tower, only its own for CLIP. A RequestError names the field.
 */
export function checkImageTokens(info: EngineInfo, tokens: number, field: string): number {
  if (info.imageTokens === 0) throw new RequestError(field, "this model has no vision tower");
  const problem = visualTokensProblem(tokens, info.imageTokens, info.anyImageTokens);
  if (problem) throw new RequestError(field, problem);
  return tokens;
}

/** Runs a job on a loaded pipeline: shared by the in-process engine and the worker. */
export async function runOnPipeline(
  pipeline: ImpPipeline,
  job: EngineJob,
  hooks: EngineHooks,
): Promise<EngineResult> {
  if (job.image && !pipeline.imageSpec)
    throw new RequestError("messages", "this model has no vision tower; it takes no images");
  let stats: GenerationStats | null = null;
  try {
    const stream = pipeline.stream(
      {
        messages: job.messages,
        image: job.image,
        maxNewTokens: job.maxNewTokens,
        imageTokens: job.imageTokens,
        sampling: job.sampling,
        stop: job.stop,
        signal: hooks.signal,
        interrupted: hooks.interrupted,
      },
      (s) => {
        stats = s;
      },
    );
    for await (const piece of stream) hooks.onText(piece);
  } catch (err) {
    if (err instanceof AbortError) return { finishReason: "abort", stats: stats ?? emptyStats() };
    throw err;
  }
  const s = stats as GenerationStats | null;
  if (!s) return { finishReason: "abort", stats: emptyStats() };
  return { finishReason: s.finishReason === "stop" ? "stop" : "length", stats: s };
}
