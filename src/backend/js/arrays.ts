/**
 * Typed-array helpers for the js kernels. Kernels are written once over `FloatArray`, so the same loops run
 * in f32 (the backend) and in f64 (the finite-difference gradient tests).
 */
import { Q4_BLOCK_BYTES, Q8_BLOCK_BYTES, QK } from "../../formats/dtype.js";
import { F16_TABLE } from "../../formats/half.js";
import { WeightFormat } from "../backend.js";

export type FloatArray = Float32Array | Float64Array;

/** A weight operand as raw bytes plus its format (f32 data may also be given as a FloatArray). */
export type WeightData = { format: WeightFormat; bytes: Uint8Array } | { format: 0; values: FloatArray };

/** Bytes of one row of k weights in `format`. */
export function rowBytes(format: WeightFormat, k: number): number {
  switch (format) {
    case WeightFormat.f32:
      return 4 * k;
    case WeightFormat.f16:
    case WeightFormat.bf16:
      return 2 * k;
    case WeightFormat.q8:
      return (k / QK) * Q8_BLOCK_BYTES;
    case WeightFormat.q4:
    case WeightFormat.q4x4:
      return (k / QK) * Q4_BLOCK_BYTES;
  }
}

/** Decodes `count` consecutive weights starting at element `start` (block-aligned for q8/q4) into dst. */
export function decodeWeights(
  w: WeightData,
  start: number,
  count: number,
  dst: FloatArray,
  dstOff = 0,
): void {
  if ("values" in w) {
    for (let i = 0; i < count; i++) dst[dstOff + i] = w.values[start + i]!;
    return;
  }
  const b = w.bytes;
  if (w.format === WeightFormat.q4x4)
    throw new Error("q4x4 weights feed only linearQuant; repack them to q4 first (Backend.repackQ4)");
  switch (w.format) {
    case WeightFormat.f32: {
      const v = new Float32Array(b.buffer, b.byteOffset + start * 4, count);
      for (let i = 0; i < count; i++) dst[dstOff + i] = v[i]!;
      return;
    }
    case WeightFormat.f16: {
      const o = b.byteOffset / 2 + start;
      const v = new Uint16Array(b.buffer, 0, o + count);
      for (let i = 0; i < count; i++) dst[dstOff + i] = F16_TABLE[v[o + i]!]!;
      return;
    }
    case WeightFormat.bf16: {
      for (let i = 0; i < count; i++) {
        const p = (start + i) * 2;
        const bits = (b[p]! | (b[p + 1]! << 8)) << 16;
        u32[0] = bits;
        dst[dstOff + i] = f32[0]!;
      }
      return;
    }
    case WeightFormat.q8: {
      for (let blk = start / QK, i = 0; i < count; blk++) {
        const o = blk * Q8_BLOCK_BYTES;
        const d = F16_TABLE[b[o]! | (b[o + 1]! << 8)]!;
        for (let j = 0; j < QK; j++, i++) dst[dstOff + i] = Math.fround(((b[o + 2 + j]! << 24) >> 24) * d);
      }
      return;
    }
    case WeightFormat.q4: {
      for (let blk = start / QK, i = 0; i < count; blk++, i += QK) {
        const o = blk * Q4_BLOCK_BYTES;
        const d = F16_TABLE[b[o]! | (b[o + 1]! << 8)]!;
        for (let j = 0; j < QK / 2; j++) {
          const byte = b[o + 2 + j]!;
          dst[dstOff + i + j] = Math.fround(((byte & 15) - 8) * d);
          dst[dstOff + i + j + QK / 2] = Math.fround(((byte >> 4) - 8) * d);
        }
      }
      return;
    }
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
