/** The basic layers: Linear, LayerNorm, RMSNorm, Embedding — parameters named as PyTorch names them. */
import * as F from "../tensor/ops/index.js";
import type { Tensor } from "../tensor/tensor.js";
import { fromI32 } from "../tensor/tensor.js";
import type { Rng } from "../util/random.js";
import type { LoraConfig } from "./lora.js";
import { LoraAdapter } from "./lora.js";
import type { Param } from "./module.js";
import { Module } from "./module.js";

/** y = x·Wᵀ + b with W [out, in] (dense, half or quantized), plus a LoRA adapter's output when one is attached. */
export class Linear extends Module {
  readonly weight: Param;
  readonly bias: Param | null;
  lora: LoraAdapter | null = null;
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
    const y = F.linear(x, this.weight.value, this.bias?.value ?? null);
    return this.lora ? F.add(y, this.lora.forward(x)) : y;
  }

  /** Attaches a LoRA adapter (its parameters are named `lora_A.weight`, `lora_B.weight` under this module). */
  attachLora(cfg: LoraConfig, rng: Rng): LoraAdapter {
    if (this.lora) throw new Error("a LoRA adapter is already attached");
    this.lora = this.child("", new LoraAdapter(this.inFeatures, this.outFeatures, cfg, rng));
    return this.lora;
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

  /** Rows 0 … n−1 as f32, whatever format the table is stored in (position embeddings). */
  rows(n: number): Tensor {
    const w = this.weight.value;
    return this.forward(
      fromI32(
        w.backend,
        Array.from({ length: n }, (_, i) => i),
      ),
    );
  }
}
