/** Softmax (optionally causal-masked) and cross-entropy, forward and backward (reference). */
import type { FloatArray } from "./arrays.js";

/** Number of unmasked columns of row r (see Backend.softmax). */
export function visibleCols(r: number, cols: number, causalT: number, pastLen: number): number {
  return causalT > 0 ? Math.min(cols, pastLen + (r % causalT) + 1) : cols;
}

export function softmax(
  x: FloatArray,
  out: FloatArray,
  rows: number,
  cols: number,
  causalT: number,
  pastLen: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const vis = visibleCols(r, cols, causalT, pastLen);
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < vis; c++) max = Math.max(max, x[o + c]!);
    let sum = 0;
    for (let c = 0; c < vis; c++) sum += Math.exp(x[o + c]! - max);
    for (let c = 0; c < vis; c++) out[o + c] = Math.exp(x[o + c]! - max) / sum;
    for (let c = vis; c < cols; c++) out[o + c] = 0;
  }
}

export function softmaxBackward(
  y: FloatArray,
  dy: FloatArray,
  dx: FloatArray,
  rows: number,
  cols: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += dy[o + c]! * y[o + c]!;
    for (let c = 0; c < cols; c++) dx[o + c] = dx[o + c]! + y[o + c]! * (dy[o + c]! - dot);
  }
}

function logSumExp(x: FloatArray, o: number, n: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < n; c++) max = Math.max(max, x[o + c]!);
  let sum = 0;
  for (let c = 0; c < n; c++) sum += Math.exp(x[o + c]! - max);
  return max + Math.log(sum);
}

export function crossEntropy(
  logits: FloatArray,
  targets: Int32Array,
  loss: FloatArray,
  rows: number,
  vocab: number,
  ignoreIndex: number,
): void {
  for (let r = 0; r < rows; r++) {
    const t = targets[r]!;
    loss[r] = t === ignoreIndex ? 0 : logSumExp(logits, r * vocab, vocab) - logits[r * vocab + t]!;
  }
}

export function crossEntropyBackward(
  logits: FloatArray,
  targets: Int32Array,
  dlogits: FloatArray,
  rows: number,
  vocab: number,
  ignoreIndex: number,
  scale: number,
): void {
  for (let r = 0; r < rows; r++) {
    const t = targets[r]!;
    if (t === ignoreIndex) continue;
    const o = r * vocab;
    const lse = logSumExp(logits, o, vocab);
    for (let c = 0; c < vocab; c++) {
      const p = Math.exp(logits[o + c]! - lse);
      dlogits[o + c] = dlogits[o + c]! + scale * (p - (c === t ? 1 : 0));
    }
  }
}
