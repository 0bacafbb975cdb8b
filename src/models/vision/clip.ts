/**
 * The CLIP ViT vision tower as LLaVA-1.5 uses it: a stride-P convolution without bias, the class token
 * prepended, + position embedding (N + 1 rows), `pre_layrnorm` (spelled so in the checkpoint), pre-LN layers with
 * quick_gelu, run up to the selected layer (−2), then the class-token row dropped ("patch").
 *   pixels [3, S, S] → [N + 1, Hv] → [N, Hv]
 */
import { Embedding, LayerNorm } from "../../nn/layers.js";
import type { Param } from "../../nn/module.js";
import { forwardLayer, Module, ModuleList } from "../../nn/module.js";
import * as F from "../../tensor/ops/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { VisionConfig } from "../config.js";
import { VitEncoderLayer } from "./vit-layer.js";

class ClipEmbeddings extends Module {
  readonly classEmbedding: Param;
  readonly patchWeight: Param;
  readonly position_embedding: Embedding;
  constructor(readonly cfg: VisionConfig) {
    super();
    const { hidden, patch } = cfg;
    this.classEmbedding = this.param("class_embedding", [hidden], "vector");
    this.patchWeight = this.param("patch_embedding.weight", [hidden, 3, patch, patch], "matrix");
    const grid = Math.floor(cfg.imageSize / patch);
    this.position_embedding = this.child("position_embedding", new Embedding(grid * grid + 1, hidden));
  }
  forward(pixels: Tensor): Tensor {
    const { hidden, patch } = this.cfg;
    const patches = F.patchify(pixels, patch); // [N, 3·P·P]
    const x = F.linear(patches, this.patchWeight.value.reshape([hidden, 3 * patch * patch])); // [N, Hv]
    const withCls = F.concatRows([this.classEmbedding.value.reshape([1, hidden]), x]); // [N + 1, Hv]
    return F.add(withCls, this.position_embedding.rows(withCls.dim(0)));
  }
}

export class ClipVisionTower extends Module {
  readonly embeddings: ClipEmbeddings;
  readonly pre_layrnorm: LayerNorm;
  readonly layers: ModuleList<VitEncoderLayer>;
  constructor(readonly cfg: VisionConfig) {
    super();
    this.embeddings = this.child("embeddings", new ClipEmbeddings(cfg));
    this.pre_layrnorm = this.child("pre_layrnorm", new LayerNorm(cfg.hidden, cfg.eps));
    const layers = Array.from({ length: cfg.layers }, () => new VitEncoderLayer(cfg));
    this.layers = this.child("encoder.layers", new ModuleList(layers));
  }

  /** pixels [3, S, S] → features [N, Hv] (or [N + 1, Hv] with cls_patch). */
  forward(pixels: Tensor): Tensor {
    let x = this.pre_layrnorm.forward(this.embeddings.forward(pixels));
    for (const layer of this.layers.items) x = forwardLayer(x, true, (h) => layer.forward(h));
    return this.cfg.selectFeature === "patch" ? x.slice(0, 1, x.dim(0)) : x;
  }
}
