/**
 * Matrix products (reference): the general batched GEMM, the few-row f32 dot product path and the integer
 * dot product of q8/q4 weights with q8-quantized activations (GGUF's vec_dot_q8_0_q8_0 / q4_0_q8_0).
 */

import { q4x4Block } from "../../formats/blocks.js";
import { Q4_BLOCK_BYTES, Q8_BLOCK_BYTES, QK } from "../../formats/dtype.js";
import { F16_TABLE } from "../../formats/half.js";
import type { GemmArgs } from "../backend.js";
import { WeightFormat } from "../backend.js";
import type { FloatArray, WeightData } from "./arrays.js";
import { decodeWeights } from "./arrays.js";

/** GEMM over arrays: a, c are f32/f64 arrays indexed from 0 at the pointers of GemmArgs. */
export function gemm(
  args: Omit<GemmArgs, "a" | "b" | "c" | "bias">,
  a: FloatArray,
  b: WeightData,
  c: FloatArray,
  bias: FloatArray | null,
): void {
  const {
    batch,
    m,
    n,
    k,
    transA,
    transB,
    lda,
    ldb,
    ldc,
    strideA,
    strideB,
    strideC,
    bGroup,
    alpha,
    accumulate,
  } = args;
  const col = a instanceof Float64Array ? new Float64Array(k) : new Float32Array(k);
  for (let bi = 0; bi < batch; bi++) {
    const aOff = bi * strideA;
    const bOff = Math.floor(bi / bGroup) * strideB;
    const cOff = bi * strideC;
    for (let j = 0; j < n; j++) {
      // Column j of op(B), decoded to floats.
      if (transB) decodeWeights(b, bOff + j * ldb, k, col);
      else for (let p = 0; p < k; p++) decodeWeights(b, bOff + p * ldb + j, 1, col, p);
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += (transA ? a[aOff + p * lda + i]! : a[aOff + i * lda + p]!) * col[p]!;
        const o = cOff + i * ldc + j;
        c[o] = alpha * s + (accumulate ? c[o]! : 0) + (bias ? bias[j]! : 0);
      }
    }
  }
}

export function linearDot(
  x: FloatArray,
  w: WeightData,
  bias: FloatArray | null,
  out: FloatArray,
  m: number,
  n: number,
  k: number,
): void {
  const row = new Float32Array(k);
  for (let j = 0; j < n; j++) {
    decodeWeights(w, j * k, k, row);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += x[i * k + p]! * row[p]!;
      out[i * n + j] = s + (bias ? bias[j]! : 0);
    }
  }
}

/** Σ over blocks of d_w · d_x · (Σ q_w · q_x): weights q8/q4/q4x4, activations q8 blocks. */
export function linearQuant(
  xq: Uint8Array,
  w: Uint8Array,
  wFormat: WeightFormat,
  bias: FloatArray | null,
  out: FloatArray,
  m: number,
  n: number,
  k: number,
): void {
  const nb = k / QK;
  const wq = new Int8Array(QK);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < m; i++) {
      let sum = 0;
      for (let blk = 0; blk < nb; blk++) {
        let dw: number;
        if (wFormat === WeightFormat.q8) {
          const o = (j * nb + blk) * Q8_BLOCK_BYTES;
          dw = F16_TABLE[w[o]! | (w[o + 1]! << 8)]!;
          for (let t = 0; t < QK; t++) wq[t] = w[o + 2 + t]!;
        } else {
          const o = (j * nb + blk) * Q4_BLOCK_BYTES;
          const at =
            wFormat === WeightFormat.q4x4 ? q4x4Block(j, blk, n, k) : { d: o, qs: o + 2, qsStride: 4 };
          dw = F16_TABLE[w[at.d]! | (w[at.d + 1]! << 8)]!;
          for (let t = 0; t < QK / 2; t++) {
            const byte = w[at.qs + (t >> 2) * at.qsStride + (t & 3)]!;
            wq[t] = (byte & 15) - 8;
            wq[t + QK / 2] = (byte >> 4) - 8;
          }
        }
        const xo = (i * nb + blk) * Q8_BLOCK_BYTES;
        const dx = F16_TABLE[xq[xo]! | (xq[xo + 1]! << 8)]!;
        let isum = 0;
        for (let t = 0; t < QK; t++) isum += wq[t]! * ((xq[xo + 2 + t]! << 24) >> 24);
        sum += isum * Math.fround(dw * dx);
      }
      out[i * n + j] = sum + (bias ? bias[j]! : 0);
    }
  }
}
