/**
 * The SigLIP vision transformer as Imp uses it (shared/reference/imp-spec.md §2): a stride-P convolution with
 * bias → + learned position embedding (no class token) → pre-LN encoder layers, run up to the selected layer
 * (−2: all but the last of the original tower). No post_layernorm, no pooling head.
 *   pixels [3, S, S] → patches [N, 3·P·P] → [N, Hv]
 */
import { Embedding } from "../../nn/layers.js";
import type { Param } from "../../nn/module.js";
import { forwardLayer, Module, ModuleList } from "../../nn/module.js";
import * as F from "../../tensor/ops/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { VisionConfig } from "../config.js";
import { VitEncoderLayer } from "./vit-layer.js";

class SiglipEmbeddings extends Module {
  readonly patchWeight: Param;
  readonly patchBias: Param;
  readonly position_embedding: Embedding;
  constructor(readonly cfg: VisionConfig) {
    super();
    const { hidden, patch } = cfg;
    this.patchWeight = this.param("patch_embedding.weight", [hidden, 3, patch, patch], "matrix");
    this.patchBias = this.param("patch_embedding.bias", [hidden], "vector");
    const grid = Math.floor(cfg.imageSize / patch);
    this.position_embedding = this.child("position_embedding", new Embedding(grid * grid, hidden));
  }
  forward(pixels: Tensor): Tensor {
    const { hidden, patch } = this.cfg;
    const patches = F.patchify(pixels, patch); // [N, 3·P·P]
    const w = this.patchWeight.value.reshape([hidden, 3 * patch * patch]);
    const x = F.linear(patches, w, this.patchBias.value); // [N, Hv]
    return F.add(x, this.position_embedding.rows(x.dim(0)));
  }
}

export class SiglipVisionTower extends Module {
  readonly embeddings: SiglipEmbeddings;
  readonly layers: ModuleList<VitEncoderLayer>;
  constructor(readonly cfg: VisionConfig) {
    super();
    this.embeddings = this.child("embeddings", new SiglipEmbeddings(cfg));
    const layers = Array.from({ length: cfg.layers }, () => new VitEncoderLayer(cfg));
    this.layers = this.child("encoder.layers", new ModuleList(layers));
  }

  /** pixels [3, S, S] → features [N, Hv]. */
  forward(pixels: Tensor): Tensor {
    let x = this.embeddings.forward(pixels);
    for (const layer of this.layers.items) x = forwardLayer(x, true, (h) => layer.forward(h));
    return x;
  }
}
