/**
 * A Phi-2 decoder layer: one LayerNorm feeding attention and MLP in parallel, both added to the residual.
 *   h = input_layernorm(x)
 *   x = x + dense(attn(h)) + fc2(gelu_new(fc1(h)))
 * Partial rotary (the first rotary_dim channels of each head), biases everywhere.
 */
import type { AttentionContext } from "../../nn/attention.js";
import { SelfAttention } from "../../nn/attention.js";
import { LayerNorm } from "../../nn/layers.js";
import { Mlp } from "../../nn/mlp.js";
import { Module } from "../../nn/module.js";
import * as F from "../../tensor/ops/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { LlmConfig } from "../config.js";

export class Phi2DecoderLayer extends Module {
  readonly input_layernorm: LayerNorm;
  readonly self_attn: SelfAttention;
  readonly mlp: Mlp;

  constructor(cfg: LlmConfig) {
    super();
    this.input_layernorm = this.child("input_layernorm", new LayerNorm(cfg.hidden, cfg.normEps));
    this.self_attn = this.child(
      "self_attn",
      new SelfAttention({
        hidden: cfg.hidden,
        heads: cfg.heads,
        kvHeads: cfg.kvHeads,
        headDim: cfg.headDim,
        qkvBias: true,
        outBias: true,
        outName: "dense",
      }),
    );
    this.mlp = this.child("mlp", new Mlp(cfg.hidden, cfg.intermediate, cfg.act));
  }

  forward(x: Tensor, ctx: AttentionContext): Tensor {
    const h = this.input_layernorm.forward(x);
    return F.add(F.add(x, this.self_attn.forward(h, ctx)), this.mlp.forward(h));
  }
}
