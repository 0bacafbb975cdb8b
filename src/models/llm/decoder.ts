/**
 * The causal language model around the decoder layers: token embeddings, the layers with a KV cache, the final
 * norm and the LM head. Parameter names are the Hugging Face ones (`model.embed_tokens`, `model.layers.N`,
 * `model.norm` or Phi-2's `model.final_layernorm`, `lm_head`).
 */
import type { Backend } from "../../backend/backend.js";
import { KVCache, type KVDType } from "../../nn/kv-cache.js";
import { Embedding, type LayerNorm, Linear, type RMSNorm } from "../../nn/layers.js";
import { forwardLayer, Module, ModuleList } from "../../nn/module.js";
import { activeTape } from "../../tensor/autograd.js";
import * as F from "../../tensor/ops/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { LlmConfig } from "../config.js";
import { type DecoderLayer, LLM_FAMILIES } from "./families.js";

/** Asks a forward pass for the residual stream after one decoder layer (0-based), besides its final output. */
export interface LayerTap {
  after: number;
  out?: Tensor;
}

export class DecoderLM extends Module {
  readonly embed_tokens: Embedding;
  readonly layers: ModuleList<DecoderLayer>;
  readonly norm: LayerNorm | RMSNorm;
  readonly lm_head: Linear;

  /** Positions a cached forward pass runs at once; a longer prompt runs in chunks of this many. */
  prefillChunk = 512;

  constructor(readonly cfg: LlmConfig) {
    super();
    this.embed_tokens = this.child("model.embed_tokens", new Embedding(cfg.vocab, cfg.hidden));
    const family = LLM_FAMILIES[cfg.family];
    const layers = Array.from({ length: cfg.layers }, () => family.layer(cfg));
    this.layers = this.child("model.layers", new ModuleList(layers));
    this.norm = this.child(family.finalNorm.name, family.finalNorm.create(cfg));
    this.lm_head = this.child("lm_head", new Linear(cfg.hidden, cfg.vocab, family.lmHeadBias));
  }

  newCache(backend: Backend, maxLength = this.cfg.maxPositions, dtype: KVDType = "f32"): KVCache {
    return new KVCache(backend, this.cfg.layers, this.cfg.kvHeads * this.cfg.headDim, maxLength, dtype);
  }

  /**
   * Runs T new positions (embeddings [T, H]) after the cache's past — or, without a cache (training), a whole
   * sequence from position 0 — and returns the final hidden states [T, H] (after the final norm).
   */
  forward(embeds: Tensor, cache?: KVCache): Tensor {
    const t = embeds.dim(0);
    if (cache && t > this.prefillChunk && !activeTape()) {
      // A long prompt runs in chunks over the cache (llama.cpp's micro-batches): each layer's activations and
      // attention scores then take a chunk's rows, not the whole prompt's (2,048 positions of Phi-3-mini: 0.55 GB
      // in one layer at once, 0.14 GB in chunks of 512); the rows come out the same.
      const parts: Tensor[] = [];
      for (let at = 0; at < t; at += this.prefillChunk)
        parts.push(this.forward(embeds.slice(0, at, Math.min(t, at + this.prefillChunk)), cache));
      const out = F.concatRows(parts);
      for (const p of parts) p.dispose();
      return out;
    }
    cache?.reserve(t);
    const past = cache?.length ?? 0;
    const positions = Array.from({ length: t }, (_, i) => past + i);
    const h = this.run(embeds, positions, cache);
    cache?.advance(t);
    return h;
  }

  /**
   * Training on a packed batch: embeds [T, H] are independent sequences of the given lengths one after another,
   * each from position 0 and attending only to itself; returns the final hidden states [T, H]. With `tap`, also
   * the residual stream after decoder layer `tap.after` (tap.out; the caller disposes it when not on a tape).
   */
  forwardPacked(embeds: Tensor, segments: readonly number[], tap?: LayerTap): Tensor {
    return this.run(
      embeds,
      segments.flatMap((n) => Array.from({ length: n }, (_, i) => i)),
      undefined,
      segments.length > 1 ? segments : undefined,
      tap,
    );
  }

  private run(
    embeds: Tensor,
    positions: number[],
    cache?: KVCache,
    segments?: readonly number[],
    tap?: LayerTap,
  ): Tensor {
    const rope = F.ropeTable(embeds.backend, positions, this.cfg.rotaryDim, this.cfg.ropeTheta);
    let x = embeds;
    for (let l = 0; l < this.layers.items.length; l++) {
      const layer = this.layers.items[l]!;
      const ctx = { causal: true, rope, cache, layer: l, segments };
      // The tapped layer's output is handed out, so the next layer must not free it.
      x = forwardLayer(x, x !== embeds && x !== tap?.out, (h) => layer.forward(h, ctx));
      if (tap && l === tap.after) tap.out = x;
    }
    return this.norm.forward(x);
  }

  /** hidden [T, H] → logits [T, vocab]. */
  logits(hidden: Tensor): Tensor {
    return this.lm_head.forward(hidden);
  }
}
