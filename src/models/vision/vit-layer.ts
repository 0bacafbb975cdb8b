/**
 * A pre-LayerNorm ViT encoder layer, shared by SigLIP and CLIP:
 *   x = x + out_proj(attn(layer_norm1(x)))
 *   x = x + fc2(act(fc1(layer_norm2(x))))
 * bidirectional attention, scale head_dim^−0.5, biases everywhere.
 */
import { SelfAttention } from "../../nn/attention.js";
import { LayerNorm } from "../../nn/layers.js";
import { Mlp } from "../../nn/mlp.js";
import { Module } from "../../nn/module.js";
import * as F from "../../tensor/ops/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { VisionConfig } from "../config.js";

export class VitEncoderLayer extends Module {
  readonly layer_norm1: LayerNorm;
  readonly self_attn: SelfAttention;
  readonly layer_norm2: LayerNorm;
  readonly mlp: Mlp;

  constructor(cfg: VisionConfig) {
    super();
    const h = cfg.hidden;
    this.layer_norm1 = this.child("layer_norm1", new LayerNorm(h, cfg.eps));
    this.self_attn = this.child(
      "self_attn",
      new SelfAttention({
        hidden: h,
        heads: cfg.heads,
        kvHeads: cfg.heads,
        headDim: h / cfg.heads,
        qkvBias: true,
        outBias: true,
        outName: "out_proj",
      }),
    );
    this.layer_norm2 = this.child("layer_norm2", new LayerNorm(h, cfg.eps));
    this.mlp = this.child("mlp", new Mlp(h, cfg.intermediate, cfg.act));
  }

  /** `segments`: the lengths of the images packed into x, each attending only to itself. */
  forward(x: Tensor, segments?: readonly number[]): Tensor {
    x = F.add(x, this.self_attn.forward(this.layer_norm1.forward(x), { causal: false, segments }));
    return F.add(x, this.mlp.forward(this.layer_norm2.forward(x)));
  }
}
