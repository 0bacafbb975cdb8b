/**
 * The SigLIP vision transformer as Imp uses it (shared/reference/imp-spec.md §2): a stride-P convolution with
 * bias → + learned position embedding (no class token) → pre-LN encoder layers, run up to the selected layer
 * (−2: all but the last of the original tower). No post_layernorm, no pooling head.
 *   pixels [3, S, S] → patches [N, 3·P·P] → [N, Hv]
 * An image of another side than the tower's own gets the position table resized to its grid, as Hugging Face's
 * `interpolate_pos_encoding=True` (position-grid.ts): fewer visual tokens from the same checkpoint.
 */
import { Embedding } from "../../nn/layers.js";
import type { Param } from "../../nn/module.js";
import { forwardLayer, Module, ModuleList } from "../../nn/module.js";
import * as F from "../../tensor/ops/index.js";
import { keep } from "../../tensor/scope.js";
import type { Tensor } from "../../tensor/tensor.js";
import { fromF32 } from "../../tensor/tensor.js";
import { ShapeError } from "../../util/errors.js";
import type { VisionConfig } from "../config.js";
import { resizePositionGrid } from "./position-grid.js";
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
  /** Resized position tables by grid side, for the table they were resized from (inference only: not trained). */
  private resized: { from: Tensor; bySide: Map<number, Tensor> } | null = null;

  /** Images [3, S, S] of one side → [n·N, Hv], image after image: one product for all their patches. */
  forward(images: readonly Tensor[]): Tensor {
    const { hidden, patch } = this.cfg;
    const side = images[0]!.dim(2);
    if (images.some((im) => im.dim(1) !== side || im.dim(2) !== side))
      throw new ShapeError(
        `SigLIP: images of sides ${images.map((im) => im.dim(2)).join(", ")} cannot share a pass`,
      );
    const patches = images.map((im) => F.patchify(im, patch)); // [N, 3·P·P] each
    const w = this.patchWeight.value.reshape([hidden, 3 * patch * patch]);
    const x = F.linear(patches.length === 1 ? patches[0]! : F.concatRows(patches), w, this.patchBias.value);
    const grid = Math.floor(side / patch);
    const n = grid * grid;
    const pos =
      n === this.position_embedding.count ? this.position_embedding.rows(n) : this.positionsFor(grid);
    // Each image's rows get the table: [n, N, Hv] + [N, Hv].
    return F.add(x.reshape([images.length, n, hidden]), pos).reshape([images.length * n, hidden]);
  }

  /** The position table resized to a grid × grid image, made once per side. */
  private positionsFor(grid: number): Tensor {
    if (grid < 1) throw new ShapeError(`SigLIP: the image is smaller than one ${this.cfg.patch}-px patch`);
    const table = this.position_embedding.weight.value;
    if (this.resized?.from !== table) {
      this.disposeResized();
      this.resized = { from: table, bySide: new Map() };
    }
    let t = this.resized.bySide.get(grid);
    if (!t) {
      const own = this.position_embedding.rows(this.position_embedding.count);
      const f32 = own.toF32();
      own.dispose();
      t = keep(
        fromF32(table.backend, resizePositionGrid(f32, this.cfg.hidden, grid), [
          grid * grid,
          this.cfg.hidden,
        ]),
      );
      this.resized.bySide.set(grid, t);
    }
    return t;
  }

  private disposeResized(): void {
    for (const t of this.resized?.bySide.values() ?? []) t.dispose();
    this.resized = null;
  }

  override dispose(): void {
    super.dispose();
    this.disposeResized();
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
    return this.forwardMany([pixels]);
  }

  /**
   * Images [3, S, S] of one side → features [n·N, Hv], image after image, in one pass: every product over all their
   * patches, attention within each image (training on a packed batch).
   */
  forwardMany(images: readonly Tensor[]): Tensor {
    let x = this.embeddings.forward(images);
    const segments = images.length > 1 ? images.map(() => x.dim(0) / images.length) : undefined;
    for (const layer of this.layers.items) x = forwardLayer(x, true, (h) => layer.forward(h, segments));
    return x;
  }
}
