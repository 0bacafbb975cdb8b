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
import type { ImageCache } from "./image-cache.js";
import type { PositionKey, PrefixCache } from "./prefix-cache.js";
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
  /** Each image's cache key (ImageCache.key of its pixels), for the caches below. */
  imageKeys?: readonly string[];
  /** Image embeddings already computed, by key: a hit skips the vision tower. */
  imageCache?: ImageCache;
  /** The last conversation's KV cache: a prompt that starts the same way runs only what follows. */
  prefixCache?: PrefixCache;
}

export interface GenerationStats {
  promptTokens: number;
  /** Positions after splicing (text tokens − placeholders + image tokens). */
  prefillPositions: number;
  imageTokens: number;
  /** Images whose embeddings came from the image cache (the tower did not run for them). */
  imageCacheHits: number;
  /** Images whose positions the conversation cache held (neither the tower nor their prefill ran). */
  imagePrefixHits: number;
  /** Prompt positions taken from the conversation cache instead of run again. */
  cachedPositions: number;
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
    imageCacheHits: 0,
    imagePrefixHits: 0,
    cachedPositions: 0,
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

  // What each position of the spliced prompt holds, for the conversation cache.
  const keys = opts.prefixCache ? positionKeys(model, inputIds, imageTokens, opts.imageKeys) : null;

  async function* run(): AsyncGenerator<number, void, void> {
    let cache: KVCache | null = null;
    const fed: number[] = [];
    let finished = false;
    const check = () => {
      if (opts.signal?.aborted || opts.interrupted?.()) {
        stats.finishReason = "abort";
        throw new AbortError("generation aborted");
      }
    };
    try {
      check();
      // The shared prefix of the last conversation, cut back to the start of an image it would split.
      const taken = keys ? opts.prefixCache!.take(keys) : null;
      let reused = 0;
      if (taken) {
        cache = taken.cache;
        reused = taken.reused;
        while (reused > 0 && typeof keys![reused] === "string" && !String(keys![reused]).endsWith("#0"))
          reused--;
        cache.truncate(reused);
        stats.cachedPositions = reused;
      }
      const rest = suffixAfter(model, inputIds, reused, imageTokens);
      stats.imagePrefixHits = images.length - rest.images.length;
      let t0 = now();
      const pinned: string[] = [];
      const owned: Tensor[] = [];
      const imageEmbeds: Tensor[] = [];
      let logits: Float32Array;
      try {
        for (const i of rest.images) {
          const key = opts.imageKeys?.[i];
          const hit = key !== undefined && opts.imageCache ? opts.imageCache.acquire(key) : null;
          if (hit) {
            pinned.push(key!);
            stats.imageCacheHits++;
            imageEmbeds.push(hit);
            continue;
          }
          const e = interruptible(check, () => tidy(() => keep(model.encodeImage(images[i]!).embeds)));
          if (key !== undefined && opts.imageCache?.insert(key, e)) pinned.push(key);
          else owned.push(e);
          imageEmbeds.push(e);
        }
        stats.visionMs = now() - t0;
        stats.imageTokens = images.length * imageTokens;
        t0 = now();
        // A cache kept for the next request may grow to the whole context; one used once only to this answer's end.
        if (!cache) cache = model.newCache(keys ? context : Math.min(context, positions + maxNew));
        // Room for the prompt and a typical answer now: sized to the prompt alone, the cache would grow on the first
        // decoded token, copying every layer's K/V (0.5 GB for Phi-2 after 793 positions) while old and new both live.
        cache.reserve(Math.min(context, positions + Math.min(maxNew, 256)) - cache.length);
        const c = cache;
        logits = interruptible(check, () =>
          tidy(() => {
            const embeds = model.embed(rest.ids, imageEmbeds);
            stats.prefillPositions = reused + embeds.dim(0);
            return lastLogits(model, model.forward(embeds, c));
          }),
        );
      } finally {
        for (const e of owned) e.dispose();
        for (const key of pinned) opts.imageCache!.release(key);
      }
      stats.prefillMs = now() - t0;
      const c = cache;
      const seen = inputIds.filter((id) => id >= 0);
      for (let step = 0; step < maxNew; step++) {
        opts.onLogits?.(step, logits);
        const token = sampler.sample(logits, seen);
        seen.push(token);
        stats.generatedTokens++;
        yield token;
        if (stop.has(token)) {
          stats.finishReason = "stop";
          finished = true;
          return;
        }
        if (step + 1 === maxNew || c.length + 1 > context) {
          stats.finishReason = "length";
          finished = true;
          return;
        }
        await tick();
        check();
        const t1 = now();
        logits = interruptible(check, () =>
          tidy(() => lastLogits(model, model.forward(model.embedTokens([token]), c))),
        );
        fed.push(token);
        stats.decodeMs += now() - t1;
      }
      stats.finishReason = "length";
      finished = true;
    } finally {
      // A generation that ended by itself leaves its cache for the next request of the conversation.
      if (finished && cache && keys) opts.prefixCache!.store(cache, [...keys, ...fed]);
      else cache?.dispose();
    }
  }
  return { tokens: run(), stats };
}

/** The position keys of a spliced prompt: each token's id, each image position `"imageKey#j"`. */
function positionKeys(
  model: MultimodalModel,
  ids: readonly number[],
  imageTokens: number,
  imageKeys: readonly string[] | undefined,
): PositionKey[] {
  const out: PositionKey[] = [];
  let k = 0;
  for (const id of ids) {
    if (!model.isPlaceholder(id)) out.push(id);
    else {
      // An image with no key matches nothing (a fresh object each time).
      const key = imageKeys?.[k] ?? `unkeyed:${Math.random()}`;
      for (let j = 0; j < imageTokens; j++) out.push(`${key}#${j}`);
      k++;
    }
  }
  return out;
}

/** The prompt's ids from spliced position `from` on (at a token or an image's start), and which images they hold. */
function suffixAfter(
  model: MultimodalModel,
  ids: readonly number[],
  from: number,
  imageTokens: number,
): { ids: number[]; images: number[] } {
  const out: number[] = [];
  const images: number[] = [];
  let pos = 0;
  let k = 0;
  for (const id of ids) {
    const placeholder = model.isPlaceholder(id);
    if (pos >= from) {
      out.push(id);
      if (placeholder) images.push(k);
    }
    pos += placeholder ? imageTokens : 1;
    if (placeholder) k++;
  }
  return { ids: out, images };
}
