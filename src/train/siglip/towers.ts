/**
 * The two-tower model SigLIP pretraining needs around our vision tower: a tiny text transformer (token and
 * position embeddings, bidirectional pre-LN layers, mean pooling, a final LayerNorm and a projection) and, on
 * the image side, pooling over patch features (mean or max) → LayerNorm → projection, and for the patch-level loss
 * a head on every patch feature (LayerNorm → projection). Only the vision tower is kept afterwards (Imp uses its
 * patch features, before any pooling or head); the text tower and heads are dropped.
 */

import type { VisionConfig } from "../../models/config.js";
import { VitEncoderLayer } from "../../models/vision/vit-layer.js";
import { Embedding, LayerNorm, Linear } from "../../nn/layers.js";
import { Module, ModuleList } from "../../nn/module.js";
import * as F from "../../tensor/ops/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import { fromF32, fromI32 } from "../../tensor/tensor.js";

export interface TextTowerConfig {
  vocab: number;
  maxLength: number;
  hidden: number;
  intermediate: number;
  heads: number;
  layers: number;
}

/** Mean over rows: [N, H] → [1, H] (as a matmul, so it is differentiable). */
export function meanRows(x: Tensor): Tensor {
  const n = x.dim(0);
  return F.matmul(fromF32(x.backend, new Float32Array(n).fill(1 / n), [1, n]), x);
}

export class TextTower extends Module {
  readonly token_embedding: Embedding;
  readonly position_embedding: Embedding;
  readonly layers: ModuleList<VitEncoderLayer>;
  readonly final_layer_norm: LayerNorm;
  readonly head: Linear;

  constructor(
    readonly cfg: TextTowerConfig,
    embedDim: number,
  ) {
    super();
    this.token_embedding = this.child("embeddings.token_embedding", new Embedding(cfg.vocab, cfg.hidden));
    this.position_embedding = this.child(
      "embeddings.position_embedding",
      new Embedding(cfg.maxLength, cfg.hidden),
    );
    const layerCfg: VisionConfig = {
      kind: "siglip",
      hidden: cfg.hidden,
      intermediate: cfg.intermediate,
      heads: cfg.heads,
      totalLayers: cfg.layers,
      layers: cfg.layers,
      patch: 1,
      imageSize: 1,
      eps: 1e-6,
      act: "gelu_pytorch_tanh",
      selectFeature: "patch",
    };
    this.layers = this.child(
      "encoder.layers",
      new ModuleList(Array.from({ length: cfg.layers }, () => new VitEncoderLayer(layerCfg))),
    );
    this.final_layer_norm = this.child("final_layer_norm", new LayerNorm(cfg.hidden, 1e-6));
    this.head = this.child("head", new Linear(cfg.hidden, embedDim, true));
  }

  /** Token ids (≤ maxLength) → pooled embedding [1, embedDim]. */
  forward(ids: readonly number[]): Tensor {
    const be = this.token_embedding.weight.value.backend;
    const n = Math.min(ids.length, this.cfg.maxLength);
    let x = F.add(
      this.token_embedding.forward(fromI32(be, ids.slice(0, n))),
      this.position_embedding.forward(
        fromI32(
          be,
          Array.from({ length: n }, (_, i) => i),
        ),
      ),
    );
    for (const layer of this.layers.items) x = layer.forward(x);
    return this.head.forward(this.final_layer_norm.forward(meanRows(x)));
  }
}

/**
 * How the image side pools patch features. SigLIP's own head is attention pooling over one learned probe, which
 * starts as a mean; a mean over 64 patches drowns the few that hold an object's outline. Max pooling lets each
 * feature come from the patch where it is strongest. Trained directly to classify shape (same ViT in PyTorch,
 * single-shape scenes, 200 steps), the held-out accuracy was 20 % with a mean and 44 % with a max.
 */
export type ImagePooling = "mean" | "max";

/** Each patch feature → LayerNorm → projection, [N, visionHidden] → [N, embedDim] (the patch-level loss's head). */
export class PatchHead extends Module {
  readonly norm: LayerNorm;
  readonly head: Linear;
  constructor(visionHidden: number, embedDim: number) {
    super();
    this.norm = this.child("norm", new LayerNorm(visionHidden, 1e-6));
    this.head = this.child("head", new Linear(visionHidden, embedDim, true));
  }
  forward(feats: Tensor): Tensor {
    return this.head.forward(this.norm.forward(feats));
  }
}

/** Image side of the contrastive model: pooled patch features → the same LayerNorm → projection, → [1, embedDim]. */
export class ImageHead extends PatchHead {
  constructor(
    visionHidden: number,
    embedDim: number,
    readonly pooling: ImagePooling = "mean",
  ) {
    super(visionHidden, embedDim);
  }
  override forward(feats: Tensor): Tensor {
    return super.forward(this.pooling === "max" ? F.maxRows(feats) : meanRows(feats));
  }
}

/** L2-normalises rows: rmsNorm gives x·√D/‖x‖, so scale by 1/√D. */
export function l2Normalize(x: Tensor): Tensor {
  return F.scale(F.rmsNorm(x, null, 1e-12), 1 / Math.sqrt(x.dim(-1)));
}
