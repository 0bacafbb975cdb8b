/**
 * Multi-head self-attention with grouped KV heads, optional (partial) rotary embeddings and a KV cache.
 *   q = x·Wqᵀ, k = x·Wkᵀ, v = x·Wvᵀ        [T, heads·D], [T, kvHeads·D]
 *   q, k ← rope(q, k) on the first rotDim channels of each head
 *   o = softmax(q·kᵀ/√D [causal]) · v      [T, heads·D]
 *   y = o·Woᵀ (+ b)
 * The output projection's checkpoint name differs by family: `dense` (Phi-2), `o_proj` (LLaMA, Qwen2, Phi-3),
 * `out_proj` (SigLIP, CLIP).
 */

import type { RopeTable } from "../tensor/ops/index.js";
import * as F from "../tensor/ops/index.js";
import type { Tensor } from "../tensor/tensor.js";
import type { KVCache } from "./kv-cache.js";
import { Linear } from "./layers.js";
import { Module } from "./module.js";

export interface AttentionConfig {
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  qkvBias: boolean;
  outBias: boolean;
  outName: "dense" | "o_proj" | "out_proj";
}

export interface AttentionContext {
  causal: boolean;
  rope?: RopeTable;
  cache?: KVCache;
  layer?: number;
  /** Lengths of the independent sequences packed into x (training on a packed batch; no cache). */
  segments?: readonly number[];
}

export class SelfAttention extends Module {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly out: Linear;

  constructor(readonly cfg: AttentionConfig) {
    super();
    const { hidden, heads, kvHeads, headDim: d } = cfg;
    this.q_proj = this.child("q_proj", new Linear(hidden, heads * d, cfg.qkvBias));
    this.k_proj = this.child("k_proj", new Linear(hidden, kvHeads * d, cfg.qkvBias));
    this.v_proj = this.child("v_proj", new Linear(hidden, kvHeads * d, cfg.qkvBias));
    this.out = this.child(cfg.outName, new Linear(heads * d, hidden, cfg.outBias));
  }

  forward(x: Tensor, ctx: AttentionContext): Tensor {
    const { heads, kvHeads, headDim } = this.cfg;
    let q = this.q_proj.forward(x); // [T, heads·D]
    let k = this.k_proj.forward(x); // [T, kvHeads·D]
    let v = this.v_proj.forward(x);
    if (ctx.rope) {
      q = F.rope(q, ctx.rope, heads, headDim);
      k = F.rope(k, ctx.rope, kvHeads, headDim);
    }
    const segments = ctx.segments;
    if (!ctx.cache)
      return this.out.forward(
        F.attention(q, k, v, { heads, kvHeads, headDim, causal: ctx.causal, segments }),
      );
    ({ k, v } = ctx.cache.update(ctx.layer ?? 0, k, v)); // [past + T, kvHeads·D], in the cache's dtype
    // A decode step (few rows) reads the cache in place in one fused kernel; a prefill takes the GEMM path on f32.
    if (ctx.causal && !segments && q.dim(0) <= F.DECODE_ROWS)
      return this.out.forward(F.decodeAttention(q, k, v, { heads, kvHeads, headDim }));
    if (k.dtype !== "f32") [k, v] = [F.cast(k, "f32"), F.cast(v, "f32")];
    return this.out.forward(F.attention(q, k, v, { heads, kvHeads, headDim, causal: ctx.causal, segments }));
  }
}
