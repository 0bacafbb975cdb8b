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
 * q4x4 (in memory only: q4 weights [n, k] repacked at load for the integer decode kernels, the same bytes):
 *   rows 4g..4g+3 (g < n/4) become group g at the same offset: first the nb = k/32 blocks' scales, 8 bytes
 *   per block (rows' f16 d in row order), then per block 64 bytes, four vectors of 16, vector t holding the q4
 *   qs bytes 4t..4t+3 of rows 0..3 in row order. The last n mod 4 rows stay q4.
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

/**
 * q4 → q4x4 (or back, `inverse`) for weights [n, k]; src and dst may be the same bytes. Returns the number of
 * Inf/NaN scales (exponent 31), which the q4x4 kernels do not handle.
 */
export function repackQ4Ref(
  src: Uint8Array,
  dst: Uint8Array,
  n: number,
  k: number,
  inverse: boolean,
): number {
  const nb = k / QK;
  const rowBytes = nb * Q4_BLOCK_BYTES;
  const copy = src.slice(0, n * rowBytes);
  let bad = 0;
  for (let g = 0; g < n >> 2; g++) {
    const base = g * 4 * rowBytes;
    for (let b = 0; b < nb; b++)
      for (let r = 0; r < 4; r++) {
        const row = base + r * rowBytes + b * Q4_BLOCK_BYTES;
        const sc = base + 8 * b + 2 * r;
        const [from, to] = inverse ? [sc, row] : [row, sc];
        if (((copy[from + 1]! << 8) & 0x7c00) === 0x7c00) bad++;
        dst[to] = copy[from]!;
        dst[to + 1] = copy[from + 1]!;
        for (let t = 0; t < 4; t++)
          for (let j = 0; j < 4; j++) {
            const q = row + 2 + 4 * t + j;
            const v = base + 8 * nb + 64 * b + 16 * t + 4 * r + j;
            dst[inverse ? q : v] = copy[inverse ? v : q]!;
          }
      }
  }
  dst.set(copy.subarray((n & ~3) * rowBytes), (n & ~3) * rowBytes);
  return bad;
}

/**
 * Where block b of row j of q4x4 weights [n, k] lies: the scale's byte offset, and the offset and stride of its
 * 16 quant bytes (byte i at qs + (i >> 2)·qsStride + (i & 3)), as in q4 where the stride is 4.
 */
export function q4x4Block(
  j: number,
  b: number,
  n: number,
  k: number,
): { d: number; qs: number; qsStride: number } {
  const nb = k / QK;
  const rowBytes = nb * Q4_BLOCK_BYTES;
  if (j >= (n & ~3)) {
    const o = j * rowBytes + b * Q4_BLOCK_BYTES;
    return { d: o, qs: o + 2, qsStride: 4 };
  }
  const base = (j >> 2) * 4 * rowBytes;
  const r = j & 3;
  return { d: base + 8 * b + 2 * r, qs: base + 8 * nb + 64 * b + 4 * r, qsStride: 16 };
}
