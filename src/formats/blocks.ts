/**
 * Block-quantized weight formats, as plain bytes, identical to GGUF (ggml-common.h) so models move to and from
 * llama.cpp without re-quantizing. A row of K weights (K a multiple of 32) is K/32 consecutive blocks.
 *
 * q8 (GGUF Q8_0), 34 bytes per block of 32:
 *   bytes 0..1   d   f16 little-endian scale
 *   bytes 2..33  qs  32 × int8; weight j = qs[j] · d
 * q4 (GGUF Q4_0), 18 bytes per block of 32:
 *   bytes 0..1   d   f16 little-endian scale
 *   bytes 2..17  qs  16 bytes; byte j holds weight j in its low nibble and weight j+16 in its high nibble;
 *                    weight = (nibble − 8) · d
 *
 * The quantizers below reproduce llama.cpp's reference ones (quantize_row_q8_0_ref / _q4_0_ref) bit for bit:
 * f32 arithmetic, q8 rounds half away from zero, q4 takes the signed value of largest magnitude as −8·d and
 * truncates x/d + 8.5 toward zero, clamped to 15.
 */
import { Q4_BLOCK_BYTES, Q8_BLOCK_BYTES, QK } from "./dtype.js";
import { F16_TABLE, f32ToF16Bits } from "./half.js";

const fr = Math.fround;

function roundHalfAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** Quantizes `n` floats (a multiple of 32) from `src` into q8 blocks in `dst` (n/32·34 bytes). */
export function quantizeQ8Ref(src: ArrayLike<number>, dst: Uint8Array, n: number): void {
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  for (let b = 0; b < n / QK; b++) {
    const o = b * Q8_BLOCK_BYTES;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[b * QK + j]!));
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    view.setUint16(o, f32ToF16Bits(d), true);
    for (let j = 0; j < QK; j++) view.setInt8(o + 2 + j, roundHalfAway(fr(src[b * QK + j]! * id)));
  }
}

/** Quantizes `n` floats (a multiple of 32) from `src` into q4 blocks in `dst` (n/32·18 bytes). */
export function quantizeQ4Ref(src: ArrayLike<number>, dst: Uint8Array, n: number): void {
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  for (let b = 0; b < n / QK; b++) {
    const o = b * Q4_BLOCK_BYTES;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = src[b * QK + j]!;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d !== 0 ? fr(1 / d) : 0;
    view.setUint16(o, f32ToF16Bits(d), true);
    for (let j = 0; j < QK / 2; j++) {
      const x0 = fr(fr(src[b * QK + j]! * id) + 8.5);
      const x1 = fr(fr(src[b * QK + QK / 2 + j]! * id) + 8.5);
      const q0 = Math.min(15, Math.trunc(x0));
      const q1 = Math.min(15, Math.trunc(x1));
      dst[o + 2 + j] = q0 | (q1 << 4);
    }
  }
}

/** Dequantizes `n` weights from q8 blocks into floats. */
export function dequantizeQ8Ref(src: Uint8Array, dst: { [i: number]: number }, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = b * Q8_BLOCK_BYTES;
    const d = F16_TABLE[src[o]! | (src[o + 1]! << 8)]!;
    for (let j = 0; j < QK; j++) dst[b * QK + j] = fr(((src[o + 2 + j]! << 24) >> 24) * d);
  }
}

/** Dequantizes `n` weights from q4 blocks into floats. */
export function dequantizeQ4Ref(src: Uint8Array, dst: { [i: number]: number }, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = b * Q4_BLOCK_BYTES;
    const d = F16_TABLE[src[o]! | (src[o + 1]! << 8)]!;
    for (let j = 0; j < QK / 2; j++) {
      const byte = src[o + 2 + j]!;
      dst[b * QK + j] = fr(((byte & 15) - 8) * d);
      dst[b * QK + QK / 2 + j] = fr(((byte >> 4) - 8) * d);
    }
  }
}
