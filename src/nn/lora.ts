/**
 * LoRA (Hu et al. 2021) as PEFT implements it: beside a frozen Linear W [out, in], two trainable matrices
 * A [r, in] and B [out, r] with y = x·Wᵀ + b + (α/r)·dropout(x)·Aᵀ·Bᵀ. A starts Kaiming-uniform
 * (bound 1/√in, PEFT's default), B at zero, so the adapted model starts equal to the base.
 * Parameter names are PEFT's: `<linear>.lora_A.weight`, `<linear>.lora_B.weight`.
 */

import type { Backend } from "../backend/backend.js";
import * as F from "../tensor/ops/index.js";
import { keep } from "../tensor/scope.js";
import type { Tensor } from "../tensor/tensor.js";
import { fromF32, zeros } from "../tensor/tensor.js";
import type { Rng } from "../util/random.js";
import type { Param } from "./module.js";
import { Module } from "./module.js";

export interface LoraConfig {
  rank: number;
  alpha: number;
  dropout: number;
}

export class LoraAdapter extends Module {
  readonly A: Param;
  readonly B: Param;
  readonly scaling: number;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly cfg: LoraConfig,
    private readonly rng: Rng,
  ) {
    super();
    this.A = this.param("lora_A.weight", [cfg.rank, inFeatures], "matrix");
    this.B = this.param("lora_B.weight", [outFeatures, cfg.rank], "matrix");
    this.scaling = cfg.alpha / cfg.rank;
  }

  /** Fresh weights: A ~ U(−1/√in, 1/√in), B = 0. */
  init(backend: Backend): void {
    const bound = 1 / Math.sqrt(this.inFeatures);
    const a = Float32Array.from({ length: this.cfg.rank * this.inFeatures }, () =>
      this.rng.uniform(-bound, bound),
    );
    this.A.value = keep(fromF32(backend, a, this.A.shape));
    this.B.value = keep(zeros(backend, this.B.shape));
  }

  /** The weight change this adapter makes: (α/r)·B·A [out, in]. */
  delta(): Tensor {
    return F.matmul(this.B.value, this.A.value, { alpha: this.scaling });
  }

  /** (α/r)·dropout(x)·Aᵀ·Bᵀ: [.., in] → [.., out]. */
  forward(x: Tensor): Tensor {
    const h = this.training ? F.dropout(x, this.cfg.dropout, this.rng) : x;
    return F.scale(F.linear(F.linear(h, this.A.value), this.B.value), this.scaling);
  }
}
