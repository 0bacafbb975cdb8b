/**
 * The vision-language connector (mm_projector): `mlp2x_gelu` = Linear → exact (erf) GELU → Linear, its linears
 * named `0` and `2` as in the nn.Sequential of the official code; or a single `linear` (named `mm_projector`).
 */
import { Linear } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import * as F from "../tensor/ops/index.js";
import type { Tensor } from "../tensor/tensor.js";

export class Connector extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear | null;
  constructor(
    readonly type: "mlp2x_gelu" | "linear",
    visionHidden: number,
    hidden: number,
  ) {
    super();
    if (type === "mlp2x_gelu") {
      this.fc1 = this.child("0", new Linear(visionHidden, hidden, true));
      this.fc2 = this.child("2", new Linear(hidden, hidden, true));
    } else {
      this.fc1 = this.child("", new Linear(visionHidden, hidden, true));
      this.fc2 = null;
    }
  }
  /** [N, Hv] → [N, H] */
  forward(x: Tensor): Tensor {
    const h = this.fc1.forward(x);
    return this.fc2 ? this.fc2.forward(F.geluErf(h)) : h;
  }
}
