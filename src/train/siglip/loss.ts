/**
 * SigLIP's pairwise sigmoid loss (Zhai et al. 2023, "Sigmoid Loss for Language Image Pre-Training"):
 *   logits_ij = t · xᵢ·yⱼ + b,  z_ij = +1 if i = j else −1
 *   L = −(1/B) Σ_ij log σ(z_ij · logits_ij)
 * for L2-normalised image embeddings x [B, D] and text embeddings y [B', D] (B' may exceed B: extra texts are
 * negatives for every image). Forward and backward are written out here (the matrices are small), with
 * ∂L/∂logits_ij = −(1/B)·z_ij·σ(−z_ij·logits_ij); the temperature t = exp(t′) and bias b are learned as plain
 * numbers, their gradients returned to the caller.
 *
 * `positives` generalises z for the patch-level loss (pretrain.ts): row i's positive columns are `positives(i)`
 * (default [i]), so a row may have none (every text a negative) or several.
 */
import { record } from "../../tensor/autograd.js";
import type { Tensor } from "../../tensor/tensor.js";
import { fromF32 } from "../../tensor/tensor.js";
import { ShapeError } from "../../util/errors.js";

export interface SigmoidLossResult {
  loss: Tensor;
  /** ∂L/∂t′ and ∂L/∂b, filled in by the backward pass. */
  grads: { logTemperature: number; bias: number };
  /** Fraction of the rows that have a positive whose highest-scoring text is one of them. */
  accuracy: number;
}

const DIAGONAL = (i: number): readonly number[] => [i];

const log1pExp = (v: number) => (v > 30 ? v : v < -30 ? 0 : Math.log1p(Math.exp(v)));
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

export function sigmoidContrastiveLoss(
  x: Tensor,
  y: Tensor,
  logTemperature: number,
  bias: number,
  positives: (row: number) => readonly number[] = DIAGONAL,
): SigmoidLossResult {
  const [b, d] = x.shape as [number, number];
  const [b2, d2] = y.shape as [number, number];
  if (d !== d2 || (positives === DIAGONAL && b2 < b))
    throw new ShapeError(`sigmoid loss: images [${x.shape}] vs texts [${y.shape}]`);
  const xs = x.toF32();
  const ys = y.toF32();
  const t = Math.exp(logTemperature);
  const dots = new Float64Array(b * b2);
  const z = new Int8Array(b * b2).fill(-1);
  let loss = 0;
  let correct = 0;
  let withPositive = 0;
  for (let i = 0; i < b; i++) {
    const pos = positives(i);
    for (const j of pos) {
      if (!Number.isInteger(j) || j < 0 || j >= b2)
        throw new ShapeError(`sigmoid loss: row ${i}'s positive ${j} is not one of ${b2} texts`);
      z[i * b2 + j] = 1;
    }
    let best = -1;
    let bestV = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < b2; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += xs[i * d + k]! * ys[j * d + k]!;
      dots[i * b2 + j] = s;
      loss += log1pExp(-z[i * b2 + j]! * (t * s + bias)); // −log σ(z·logit)
      if (s > bestV) {
        bestV = s;
        best = j;
      }
    }
    if (pos.length > 0) {
      withPositive++;
      if (z[i * b2 + best] === 1) correct++;
    }
  }
  const out = fromF32(x.backend, [loss / b], [1]);
  const grads = { logTemperature: 0, bias: 0 };
  record(out, [x, y], [x, y], (g, tape) => {
    const up = g.toF32()[0]! / b;
    const dx = new Float32Array(b * d);
    const dy = new Float32Array(b2 * d);
    for (let i = 0; i < b; i++)
      for (let j = 0; j < b2; j++) {
        const zij = z[i * b2 + j]!;
        const s = dots[i * b2 + j]!;
        const dl = -zij * sigmoid(-zij * (t * s + bias)) * up; // ∂L/∂logit_ij
        grads.bias += dl;
        grads.logTemperature += dl * t * s;
        const c = dl * t;
        for (let k = 0; k < d; k++) {
          dx[i * d + k]! += c * ys[j * d + k]!;
          dy[j * d + k]! += c * xs[i * d + k]!;
        }
      }
    tape.accumulate(x, fromF32(x.backend, dx, x.shape));
    tape.accumulate(y, fromF32(y.backend, dy, y.shape));
  });
  return { loss: out, grads, accuracy: withPositive > 0 ? correct / withPositive : 0 };
}
