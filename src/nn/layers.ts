/** The basic layers: Linear, LayerNorm, RMSNorm, Embedding — parameters named as PyTorch names them. */
import * as F from "../tensor/ops/index.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Param } from "./module.js";
import { Module } from "./module.js";

/** y = x·Wᵀ + b with W [out, in] (dense, half or quantized). */
export class Linear extends Module {
  readonly weight: Param;
  readonly bias: Param | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    bias: boolean,
  ) {
    super();
    this.weight = this.param("weight", [outFeatures, inFeatures], "matrix");
    this.bias = bias ? this.param("bias", [outFeatures], "vector") : null;
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight.value, this.bias?.value ?? null);
  }
}

export class LayerNorm extends Module {
  readonly weight: Param;
  readonly bias: Param;
  constructor(
    readonly dim: number,
    readonly eps: number,
  ) {
    super();
    this.weight = this.param("weight", [dim], "vector");
    this.bias = this.param("bias", [dim], "vector");
  }
  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.weight.value, this.bias.value, this.eps);
  }
}

export class RMSNorm extends Module {
  readonly weight: Param;
  constructor(
    readonly dim: number,
    readonly eps: number,
  ) {
    super();
    this.weight = this.param("weight", [dim], "vector");
  }
  forward(x: Tensor): Tensor {
    return F.rmsNorm(x, this.weight.value, this.eps);
  }
}

export class Embedding extends Module {
  readonly weight: Param;
  constructor(
    readonly count: number,
    readonly dim: number,
  ) {
    super();
    this.weight = this.param("weight", [count, dim], "embedding");
  }
  forward(ids: Tensor): Tensor {
    return F.embedding(ids, this.weight.value);
  }
}
