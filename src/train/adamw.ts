/**
 * AdamW (Loshchilov & Hutter 2019) exactly as torch.optim.AdamW (foreach=False) updates a parameter:
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps)
 * with parameter groups of their own lr and weight decay (Imp stage 2: LoRA at 2e-4, the connector at 2e-5; no
 * decay on biases and norm weights, as HF Trainer's get_decay_parameter_names). Gradients are read from each
 * trainable tensor's `.grad`, scaled by `gradScale` (the clipping coefficient) on the fly.
 *
 * The moments m and v are f32 arrays in JavaScript memory, not in the backend heap: WebAssembly memory is capped
 * at 4 GiB and the weights and activations need it more.
 */
import type { Tensor } from "../tensor/tensor.js";
import { viewF32 } from "../tensor/tensor.js";
import { ShapeError } from "../util/errors.js";

export interface TrainableParam {
  /** Checkpoint name (`model.mm_projector.0.weight`, `model.layers.0.self_attn.q_proj.lora_A.weight`). */
  name: string;
  tensor: Tensor;
}

export interface ParamGroup {
  name: string;
  lr: number;
  weightDecay: number;
  params: TrainableParam[];
}

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
}

export interface Moments {
  m: Float32Array;
  v: Float32Array;
}

export class AdamW {
  /** Optimizer steps taken (t in the bias corrections). */
  steps = 0;
  readonly state = new Map<string, Moments>();

  constructor(
    readonly groups: readonly ParamGroup[],
    readonly opts: AdamWOptions,
  ) {
    for (const g of groups)
      for (const p of g.params) {
        if (p.tensor.dtype !== "f32" || !p.tensor.isContiguous)
          throw new ShapeError(`AdamW: trainable ${p.name} must be a contiguous f32 tensor, got ${p.tensor}`);
        if (this.state.has(p.name)) throw new ShapeError(`AdamW: ${p.name} is in two parameter groups`);
        this.state.set(p.name, { m: new Float32Array(p.tensor.numel), v: new Float32Array(p.tensor.numel) });
      }
  }

  /** Every trainable parameter, group by group. */
  params(): TrainableParam[] {
    return this.groups.flatMap((g) => g.params);
  }

  /**
   * One update with each group's lr times `lrFactor` (the schedule), gradients times `gradScale`. Parameters
   * without a gradient (unused in this batch) are left alone, as torch does for p.grad = None.
   */
  step(lrFactor: number, gradScale = 1): void {
    this.steps++;
    const { beta1, beta2, eps } = this.opts;
    const t = this.steps;
    const bc1 = 1 - beta1 ** t;
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    for (const g of this.groups) {
      const lr = g.lr * lrFactor;
      const stepSize = lr / bc1;
      const decay = 1 - lr * g.weightDecay;
      for (const p of g.params) {
        const grad = p.tensor.grad;
        if (!grad) continue;
        const { m, v } = this.state.get(p.name)!;
        const w = viewF32(p.tensor);
        const gr = viewF32(grad);
        for (let i = 0; i < w.length; i++) {
          const gi = gr[i]! * gradScale;
          const mi = (m[i] = beta1 * m[i]! + (1 - beta1) * gi);
          const vi = (v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi);
          w[i] = w[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
        }
      }
    }
  }

  /** Drops every gradient (the next backward starts from zero). */
  zeroGrad(): void {
    for (const p of this.params()) {
      p.tensor.grad?.dispose();
      p.tensor.grad = null;
    }
  }
}

/**
 * The global L2 norm of all gradients (torch.nn.utils.clip_grad_norm_), summed per tensor with the backend's
 * sumSquares, and the factor that scales it down to maxNorm: min(1, maxNorm / (norm + 1e-6)).
 */
export function gradNorm(
  params: readonly TrainableParam[],
  maxNorm: number,
): { norm: number; scale: number } {
  let sq = 0;
  for (const p of params) {
    const g = p.tensor.grad;
    if (g) sq += g.backend.sumSquares(g.ptr, g.numel);
  }
  const norm = Math.sqrt(sq);
  const scale = maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
  return { norm, scale };
}
