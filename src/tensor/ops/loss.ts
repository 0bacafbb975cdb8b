/** Token cross-entropy with ignored positions (labels = −100 where the loss is masked, as LLaVA does). */
import { ShapeError } from "../../util/errors.js";
import { record } from "../autograd.js";
import type { Tensor } from "../tensor.js";
import { empty, fromF32, zeros } from "../tensor.js";
import { dense, expectDType, expectF32 } from "./check.js";

export const IGNORE_INDEX = -100;

function check(logits: Tensor, targets: Tensor): { rows: number; vocab: number } {
  expectF32("crossEntropy", "logits", logits);
  expectDType("crossEntropy", "targets", targets, ["i32"]);
  const vocab = logits.dim(-1);
  const rows = logits.numel / vocab;
  if (targets.numel !== rows) throw new ShapeError(`crossEntropy: ${targets.numel} targets for ${rows} rows`);
  return { rows, vocab };
}

/** Per-row losses [rows] (0 where ignored). Not differentiable; see crossEntropySum. */
export function crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex = IGNORE_INDEX): Tensor {
  const { rows, vocab } = check(logits, targets);
  const ld = dense(logits);
  const td = dense(targets);
  const out = empty(logits.backend, "f32", [rows]);
  logits.backend.crossEntropy(ld.ptr, td.ptr, out.ptr, rows, vocab, ignoreIndex);
  if (ld !== logits) ld.dispose();
  if (td !== targets) td.dispose();
  return out;
}

/**
 * scale · Σ_rows loss[r] as a [1] tensor, differentiable in the logits. With scale = 1 / (assistant tokens in
 * the global batch) the sum over micro-batches is the token mean the reference trainer optimises.
 */
export function crossEntropySum(
  logits: Tensor,
  targets: Tensor,
  scale: number,
  ignoreIndex = IGNORE_INDEX,
): Tensor {
  const { rows, vocab } = check(logits, targets);
  const losses = crossEntropy(logits, targets, ignoreIndex);
  const v = losses.toF32();
  losses.dispose();
  let s = 0;
  for (const x of v) s += x;
  const out = fromF32(logits.backend, [s * scale], [1]);
  record(out, [logits], [logits, targets], (g, tape) => {
    const gv = g.toF32()[0]!;
    const [ld, td] = [dense(logits), dense(targets)];
    const d = zeros(logits.backend, logits.shape);
    logits.backend.crossEntropyBackward(ld.ptr, td.ptr, d.ptr, rows, vocab, ignoreIndex, scale * gv);
    tape.accumulate(logits, d);
  });
  return out;
}

/**
 * scale · Σ_i BCE(σ(logits[i]), targets[i]) as a [1] tensor, differentiable in the logits: the per-element
 * binary cross-entropy with logits (stable form max(z, 0) − z·y + log(1 + e^−|z|)), ∂/∂z = scale · (σ(z) − y).
 * Computed on the host: its inputs are a few hundred values (one per image token), not a vocabulary.
 */
export function binaryCrossEntropySum(logits: Tensor, targets: Float32Array, scale: number): Tensor {
  expectF32("binaryCrossEntropySum", "logits", logits);
  if (targets.length !== logits.numel)
    throw new ShapeError(`binaryCrossEntropySum: ${targets.length} targets for ${logits.numel} logits`);
  const z = logits.toF32();
  let s = 0;
  for (let i = 0; i < z.length; i++) {
    const v = z[i]!;
    s += Math.max(v, 0) - v * targets[i]! + Math.log1p(Math.exp(-Math.abs(v)));
  }
  const out = fromF32(logits.backend, [s * scale], [1]);
  record(out, [logits], [logits], (g, tape) => {
    const k = g.toF32()[0]! * scale;
    const d = new Float32Array(z.length);
    for (let i = 0; i < z.length; i++) d[i] = k * (1 / (1 + Math.exp(-z[i]!)) - targets[i]!);
    tape.accumulate(logits, fromF32(logits.backend, d, logits.shape));
  });
  return out;
}
