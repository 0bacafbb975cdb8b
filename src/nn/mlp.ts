/**
 * Feed-forward blocks. `Mlp`: fc2(act(fc1(x))) (SigLIP, CLIP, Phi-2). `GatedMlp`: down(silu(gate(x)) · up(x))
 * (SwiGLU: LLaMA, Qwen2, Phi-3).
 */
import * as F from "../tensor/ops/index.js";
import type { Tensor } from "../tensor/tensor.js";
import { Linear } from "./layers.js";
import { Module } from "./module.js";

export class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  private readonly act: (x: Tensor) => Tensor;
  constructor(hidden: number, intermediate: number, act: string) {
    super();
    this.fc1 = this.child("fc1", new Linear(hidden, intermediate, true));
    this.fc2 = this.child("fc2", new Linear(intermediate, hidden, true));
    this.act = F.activationByName(act);
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.act(this.fc1.forward(x)));
  }
}

export class GatedMlp extends Module {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;
  constructor(hidden: number, intermediate: number) {
    super();
    this.gate_proj = this.child("gate_proj", new Linear(hidden, intermediate, false));
    this.up_proj = this.child("up_proj", new Linear(hidden, intermediate, false));
    this.down_proj = this.child("down_proj", new Linear(intermediate, hidden, false));
  }
  forward(x: Tensor): Tensor {
    return this.down_proj.forward(F.swiglu(this.gate_proj.forward(x), this.up_proj.forward(x)));
  }
}
