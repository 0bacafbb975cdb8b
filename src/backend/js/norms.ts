/**
 * LayerNorm and RMSNorm over the last dimension, forward and backward (reference).
 * LayerNorm: y = (x − mean) / sqrt(var + eps) · w + b, biased variance (PyTorch). RMSNorm (LLaMA/Qwen2/Phi-3):
 * y = w · x / sqrt(mean(x²) + eps). Backwards recompute the row statistics instead of storing them.
 */
import type { FloatArray } from "./arrays.js";

export function layerNorm(
  x: FloatArray,
  w: FloatArray | null,
  b: FloatArray | null,
  out: FloatArray,
  rows: number,
  cols: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mean = 0;
    for (let c = 0; c < cols; c++) mean += x[o + c]!;
    mean /= cols;
    let v = 0;
    for (let c = 0; c < cols; c++) v += (x[o + c]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / cols + eps);
    for (let c = 0; c < cols; c++) {
      const y = (x[o + c]! - mean) * rstd;
      out[o + c] = y * (w ? w[c]! : 1) + (b ? b[c]! : 0);
    }
  }
}

export function layerNormBackward(
  x: FloatArray,
  w: FloatArray | null,
  dy: FloatArray,
  dx: FloatArray,
  dw: FloatArray | null,
  db: FloatArray | null,
  rows: number,
  cols: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mean = 0;
    for (let c = 0; c < cols; c++) mean += x[o + c]!;
    mean /= cols;
    let v = 0;
    for (let c = 0; c < cols; c++) v += (x[o + c]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / cols + eps);
    let meanG = 0;
    let meanGX = 0;
    for (let c = 0; c < cols; c++) {
      const xhat = (x[o + c]! - mean) * rstd;
      const g = dy[o + c]! * (w ? w[c]! : 1);
      meanG += g;
      meanGX += g * xhat;
      if (dw) dw[c] = dw[c]! + dy[o + c]! * xhat;
      if (db) db[c] = db[c]! + dy[o + c]!;
    }
    meanG /= cols;
    meanGX /= cols;
    for (let c = 0; c < cols; c++) {
      const xhat = (x[o + c]! - mean) * rstd;
      const g = dy[o + c]! * (w ? w[c]! : 1);
      dx[o + c] = dx[o + c]! + rstd * (g - meanG - xhat * meanGX);
    }
  }
}

export function rmsNorm(
  x: FloatArray,
  w: FloatArray | null,
  out: FloatArray,
  rows: number,
  cols: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += x[o + c]! * x[o + c]!;
    const rinv = 1 / Math.sqrt(ss / cols + eps);
    for (let c = 0; c < cols; c++) out[o + c] = x[o + c]! * rinv * (w ? w[c]! : 1);
  }
}

export function rmsNormBackward(
  x: FloatArray,
  w: FloatArray | null,
  dy: FloatArray,
  dx: FloatArray,
  dw: FloatArray | null,
  rows: number,
  cols: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += x[o + c]! * x[o + c]!;
    const rinv = 1 / Math.sqrt(ss / cols + eps);
    let meanGX = 0;
    for (let c = 0; c < cols; c++) {
      const xhat = x[o + c]! * rinv;
      const g = dy[o + c]! * (w ? w[c]! : 1);
      meanGX += g * xhat;
      if (dw) dw[c] = dw[c]! + dy[o + c]! * xhat;
    }
    meanGX /= cols;
    for (let c = 0; c < cols; c++) {
      const xhat = x[o + c]! * rinv;
      const g = dy[o + c]! * (w ? w[c]! : 1);
      dx[o + c] = dx[o + c]! + rinv * (g - xhat * meanGX);
    }
  }
}
