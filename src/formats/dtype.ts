/**
 * Element types of tensors. Dense: f32, f16, bf16, i32, i64. Block-quantized (weights only, stored [out, in]
 * with `in` a multiple of 32): q8 and q4, byte-compatible with GGUF's Q8_0 and Q4_0, and q4x4, q4 repacked in
 * memory for the integer decode kernels, the same bytes in another order (layouts in ./blocks.ts).
 */
import { ShapeError } from "../util/errors.js";

export type DenseDType = "f32" | "f16" | "bf16" | "i32" | "i64";
export type QuantDType = "q8" | "q4" | "q4x4";
export type DType = DenseDType | QuantDType;

/** Elements per quantization block, and bytes per block (2-byte f16 scale + quants). */
export const QK = 32;
export const Q8_BLOCK_BYTES = 2 + QK; // 34, as GGUF block_q8_0
export const Q4_BLOCK_BYTES = 2 + QK / 2; // 18, as GGUF block_q4_0

const DENSE_BYTES: Record<DenseDType, number> = { f32: 4, f16: 2, bf16: 2, i32: 4, i64: 8 };

export function isQuantized(d: DType): d is QuantDType {
  return d === "q8" || d === "q4" || d === "q4x4";
}

export function isFloat(d: DType): boolean {
  return d === "f32" || d === "f16" || d === "bf16";
}

/** Bytes per element of a dense dtype. */
export function elementBytes(d: DenseDType): number {
  return DENSE_BYTES[d];
}

/** Bytes taken by `n` elements of `d` (for quantized types, n must be whole blocks). */
export function byteSize(d: DType, n: number): number {
  if (isQuantized(d)) {
    if (n % QK !== 0)
      throw new ShapeError(`${d} tensors hold whole blocks of ${QK} elements; got ${n} elements`);
    return (n / QK) * (d === "q8" ? Q8_BLOCK_BYTES : Q4_BLOCK_BYTES);
  }
  return n * DENSE_BYTES[d];
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}
