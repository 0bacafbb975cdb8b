/**
 * Token-level generation: encode the images, splice them into the prompt, prefill, then decode one token at a time
 * with the KV cache. Yields token ids as they are chosen; stops on a stop id, at maxNewTokens, at the end of the
 * context, or when cancelled: the AbortSignal is read between tokens and, with `interrupted`, before every layer of
 * the vision, prefill and decode passes. Yields to the event loop after every token so that streams flush and
 * cancellation is seen.
 */

import type { MultimodalModel } from "../models/multimodal.js";
import { interruptible } from "../nn/interrupt.js";
import type { KVCache } from "../nn/kv-cache.js";
import { keep, tidy } from "../tensor/scope.js";
import type { Tensor } from "../tensor/tensor.js";
import { ImpError, ShapeError } from "../util/errors.js";
import { splicedLength } from "./prompt.js";
import type { SamplingOptions } from "./sampler.js";
import { Sampler } from "./sampler.js";

export class AbortError extends ImpError {}

export interface GenerateTokensOptions {
  /** Preprocessed images [3, S, S], one per placeholder in inputIds. */
  images?: readonly Tensor[];
  maxNewTokens?: number;
  sampling?: SamplingOptions;
  /** Generation stops after emitting one of these ids (the id itself is yielded). */
  stopTokenIds?: readonly number[];
  signal?: AbortSignal;
  /**
   * Read before every layer, as well as `signal`: true stops the generation there. For a thread whose event loop
   * a long vision or prefill pass blocks (an abort event cannot fire meanwhile), e.g. a worker reading a flag in
   * shared memory that its parent sets (runtime/engine/engine-worker.ts).
   */
  interrupted?: () => boolean;
  /** Called with the logits each token was chosen from (before penalties), e.g. for parity checks. */
  onLogits?: (step: number, logits: Float32Array) => void;
}

export interface GenerationStats {
  promptTokens: number;
  /** Positions after splicing (text tokens − placeholders + image tokens). */
  prefillPositions: number;
  imageTokens: number;
  generatedTokens: number;
  visionMs: number;
  prefillMs: number;
  decodeMs: number;
  finishReason: "stop" | "length" | "abort" | null;
}

/** Stats before anything ran. */
export function emptyStats(promptTokens = 0): GenerationStats {
  return {
    promptTokens,
    prefillPositions: 0,
    imageTokens: 0,
    generatedTokens: 0,
    visionMs: 0,
    prefillMs: 0,
    decodeMs: 0,
    finishReason: null,
  };
}

const now = () => performance.now();
const tick = () => new Promise<void>((r) => setImmediate(r));

function lastLogits(model: MultimodalModel, hidden: Tensor): Float32Array {
  return tidy(() => model.logits(hidden.slice(0, hidden.dim(0) - 1, hidden.dim(0))).toF32());
}

/**
 * Generates tokens after `inputIds`. The returned stats object is filled in as generation proceeds.
 */
export function generateTokens(
  model: MultimodalModel,
  inputIds: readonly number[],
  opts: GenerateTokensOptions = {},
): { tokens: AsyncGenerator<number, void, void>; stats: GenerationStats } {
  const stats = emptyStats(inputIds.length);
  const sampler = new Sampler(opts.sampling);
  const stop = new Set(opts.stopTokenIds ?? []);
  const maxNew = opts.maxNewTokens ?? 256;
  const images = opts.images ?? [];
  const context = model.config.llm.maxPositions;
  const placeholders = inputIds.filter((id) => model.isPlaceholder(id)).length;
  // Each image brings the tokens of its own side (a SigLIP tower takes fewer visual tokens at a smaller side).
  const imageTokens = images[0] ? model.imageTokensAt(images[0].dim(images[0].ndim - 1)) : model.imageTokens;
  const positions = splicedLength(inputIds, (id) => model.isPlaceholder(id), imageTokens);
  if (positions >= context)
    throw new ShapeError(
      `the prompt takes ${positions} positions (${inputIds.length - placeholders} text tokens + ` +
        `${placeholders}×${imageTokens} image tokens) but the model's context is ${context}`,
    );

  async function* run(): AsyncGenerator<number, void, void> {
    let cache: KVCache | null = null;
    const check = () => {
      if (opts.signal?.aborted || opts.interrupted?.()) {
        stats.finishReason = "abort";
        throw new AbortError("generation aborted");
      }
    };
    try {
      check();
      let t0 = now();
      const imageEmbeds = interruptible(check, () =>
        tidy(() => images.map((px) => keep(model.encodeImage(px).embeds))),
      );
      stats.visionMs = now() - t0;
      stats.imageTokens = imageEmbeds.reduce((a, e) => a + e.dim(0), 0);
      t0 = now();
      cache = model.newCache(Math.min(context, positions + maxNew));
      // Room for the prompt and a typical answer now: sized to the prompt alone, the cache would grow on the first
      // decoded token, copying every layer's K/V (0.5 GB for Phi-2 after 793 positions) while old and new both live.
      cache.reserve(Math.min(context, positions + Math.min(maxNew, 256)));
      const c = cache;
      let logits: Float32Array;
      try {
        logits = interruptible(check, () =>
          tidy(() => {
            const embeds = model.embed(inputIds, imageEmbeds);
            stats.prefillPositions = embeds.dim(0);
            return lastLogits(model, model.forward(embeds, c));
          }),
        );
      } finally {
        for (const e of imageEmbeds) e.dispose();
      }
      stats.prefillMs = now() - t0;
      const seen = inputIds.filter((id) => id >= 0);
      for (let step = 0; step < maxNew; step++) {
        opts.onLogits?.(step, logits);
        const token = sampler.sample(logits, seen);
        seen.push(token);
        stats.generatedTokens++;
        yield token;
        if (stop.has(token)) {
          stats.finishReason = "stop";
          return;
        }
        if (step + 1 === maxNew || c.length + 1 > context) {
          stats.finishReason = "length";
          return;
        }
        await tick();
        check();
        const t1 = now();
        logits = interruptible(check, () =>
          tidy(() => lastLogits(model, model.forward(model.embedTokens([token]), c))),
        );
        stats.decodeMs += now() - t1;
      }
      stats.finishReason = "length";
    } finally {
      cache?.dispose();
    }
  }
  return { tokens: run(), stats };
}
