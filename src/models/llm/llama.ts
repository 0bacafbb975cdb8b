/**
 * A LLaMA-style decoder layer (LLaMA/Vicuna, Qwen2/Qwen1.5, Phi-3): pre-RMSNorm attention and SwiGLU MLP.
 *   x = x + o_proj(attn(input_layernorm(x)))
 *   x = x + down(silu(gate(h)) · up(h)),  h = post_attention_layernorm(x)
 * Qwen2 has q/k/v biases; Phi-3's fused qkv_proj and gate_up_proj are split into these at load.
 */
import type { AttentionContext } from "../../nn/attention.js";
import { SelfAttention } from "../../nn/attention.js";
import { RMSNorm } from "../../nn/layers.js";
import { GatedMlp } from "../../nn/mlp.js";
import { Module } from "../../nn/module.js";
import * as F from "../../tensor/ops/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { LlmConfig } from "../config.js";

export class LlamaDecoderLayer extends Module {
  readonly input_layernorm: RMSNorm;
  readonly self_attn: SelfAttention;
  readonly post_attention_layernorm: RMSNorm;
  readonly mlp: GatedMlp;

  /** `qkvBias`: Qwen2's q/k/v projections have biases. */
  constructor(cfg: LlmConfig, opts: { qkvBias: boolean }) {
    super();
    this.input_layernorm = this.child("input_layernorm", new RMSNorm(cfg.hidden, cfg.normEps));
    this.self_attn = this.child(
      "self_attn",
      new SelfAttention({
        hidden: cfg.hidden,
        heads: cfg.heads,
        kvHeads: cfg.kvHeads,
        headDim: cfg.headDim,
        qkvBias: opts.qkvBias,
        outBias: false,
        outName: "o_proj",
      }),
    );
    this.post_attention_layernorm = this.child(
      "post_attention_layernorm",
      new RMSNorm(cfg.hidden, cfg.normEps),
    );
    this.mlp = this.child("mlp", new GatedMlp(cfg.hidden, cfg.intermediate));
  }

  forward(x: Tensor, ctx: AttentionContext): Tensor {
    x = F.add(x, this.self_attn.forward(this.input_layernorm.forward(x), ctx));
    return F.add(x, this.mlp.forward(this.post_attention_layernorm.forward(x)));
  }
}
