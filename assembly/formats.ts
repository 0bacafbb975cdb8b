// Weight storage formats (ids as WeightFormat in src/backend/backend.ts) and decoding rows of them to f32.
// q8 = GGUF Q8_0 (34-byte blocks: f16 scale, 32 × i8), q4 = GGUF Q4_0 (18-byte blocks: f16 scale, 16 bytes of
// nibbles: byte j holds element j low and element j+16 high, value nibble − 8), q4x4 = Q4_0 repacked for
// decoding (below). Layouts: src/formats/blocks.ts.
import { f16ToF32, f16x4ToF32, loadU16, split, transpose4 } from "./common";

export const F32: i32 = 0;
export const F16: i32 = 1;
export const BF16: i32 = 2;
export const Q8: i32 = 3;
export const Q4: i32 = 4;
/**
 * q4x4: Q4_0 weights [n, k] repacked once at load for the integer kernels, in the same bytes. Rows 4g..4g+3
 * (g < n/4) become group g at the same offset: the nb = k/32 blocks' four f16 scales (8 bytes per block), then
 * per block four 16-byte vectors, vector t = [quant bytes 4t..4t+3 of row r, r = 0..3] (Q4_0 bytes: element
 * 4t+j in the low nibble, 16+4t+j in the high). So one 4-byte broadcast of activations meets four rows in one
 * product with one lane per row (no horizontal sums), and the low and high nibbles meet activation bytes 0..15
 * and 16..31 with no shuffles. The last n mod 4 rows stay Q4_0.
 */
export const Q4X4: i32 = 5;
export const QK: i32 = 32;
export const Q8_BYTES: i32 = 34;
export const Q4_BYTES: i32 = 18;

/** Bytes taken by the first `count` elements of a row in `format` (count a multiple of 32 for q8/q4). */
@inline
export function formatBytes(format: i32, count: usize): usize {
  if (format == F32) return count << 2;
  if (format == F16 || format == BF16) return count << 1;
  if (format == Q8) return (count >> 5) * <usize>Q8_BYTES;
  return (count >> 5) * <usize>Q4_BYTES;
}

/** One q8 block at src → 32 f32 at dst: q·d, one rounding (as the reference). */
@inline
export function decodeQ8Block(src: usize, dst: usize): void {
  const d = f32x4.splat(f16ToF32(loadU16(src)));
  for (let h = 0; h < 2; h++) {
    const q = v128.load(src + 2 + (<usize>h << 4));
    const lo = i16x8.extend_low_i8x16_s(q);
    const hi = i16x8.extend_high_i8x16_s(q);
    const o = dst + (<usize>h << 6);
    v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), d));
    v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), d), 16);
    v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), d), 32);
    v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), d), 48);
  }
}

/** One q4 block at src → 32 f32 at dst: (nibble − 8)·d. */
@inline
export function decodeQ4Block(src: usize, dst: usize): void {
  const d = f32x4.splat(f16ToF32(loadU16(src)));
  const q = v128.load(src + 2);
  const eight = i8x16.splat(8);
  const lo = i8x16.sub(v128.and(q, i8x16.splat(15)), eight);
  const hi = i8x16.sub(i8x16.shr_u(q, 4), eight);
  for (let h = 0; h < 2; h++) {
    const v = h == 0 ? lo : hi;
    const a = i16x8.extend_low_i8x16_s(v);
    const b = i16x8.extend_high_i8x16_s(v);
    const o = dst + (<usize>h << 6);
    v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(a)), d));
    v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(a)), d), 16);
    v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(b)), d), 32);
    v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(b)), d), 48);
  }
}

/**
 * Decodes `count` elements starting at element `start` of the weights at `src` (in `format`) into f32 at dst.
 * For q8/q4, start and count are multiples of 32.
 */
export function decodeRow(src: usize, format: i32, start: i32, count: i32, dst: usize): void {
  if (format == F32) {
    memory.copy(dst, src + (<usize>start << 2), <usize>count << 2);
    return;
  }
  if (format == Q8 || format == Q4) {
    const bytes = format == Q8 ? Q8_BYTES : Q4_BYTES;
    let p = src + <usize>(start >> 5) * <usize>bytes;
    for (let i = 0; i < count; i += 32, p += <usize>bytes) {
      if (format == Q8) decodeQ8Block(p, dst + (<usize>i << 2));
      else decodeQ4Block(p, dst + (<usize>i << 2));
    }
    return;
  }
  const s = src + (<usize>start << 1);
  let i = 0;
  if (format == F16) {
    for (; i + 8 <= count; i += 8) {
      const h = v128.load(s + (<usize>i << 1));
      v128.store(dst + (<usize>i << 2), f16x4ToF32(i32x4.extend_low_i16x8_s(h)));
      v128.store(dst + (<usize>i << 2), f16x4ToF32(i32x4.extend_high_i16x8_s(h)), 16);
    }
    for (; i < count; i++) store<f32>(dst + (<usize>i << 2), f16ToF32(loadU16(s + (<usize>i << 1))));
  } else {
    for (; i + 8 <= count; i += 8) {
      const h = v128.load(s + (<usize>i << 1));
      v128.store(dst + (<usize>i << 2), i32x4.shl(i32x4.extend_low_i16x8_u(h), 16));
      v128.store(dst + (<usize>i << 2), i32x4.shl(i32x4.extend_high_i16x8_u(h), 16), 16);
    }
    for (; i < count; i++) store<u32>(dst + (<usize>i << 2), loadU16(s + (<usize>i << 1)) << 16);
  }
}

/**
 * q4 → q4x4 (or q4x4 → q4 with `inverse`) for weights [n, k]; src and dst the same buffer or disjoint. Each
 * group of four rows goes through scratch (72·nb bytes per thread), so it works in place. Adds to the i32 at
 * `flags` the number of Inf/NaN scales seen (the q4x4 kernels widen scales without handling them).
 */
export function repackQ4(src: usize, dst: usize, n: i32, k: i32, inverse: bool, flags: usize, scratch: usize, scratchStride: i32, tid: i32, nth: i32): void {
  const own = scratch + <usize>tid * <usize>scratchStride;
  const nb = k >> 5;
  const rowBytes = <usize>nb * <usize>Q4_BYTES;
  const groupBytes = rowBytes << 2;
  const groups = n >> 2;
  const g0 = split(groups, tid, nth);
  const g1 = split(groups, tid + 1, nth);
  let bad = 0;
  for (let g = g0; g < g1; g++) {
    const s = own;
    const d = dst + <usize>g * groupBytes;
    memory.copy(s, src + <usize>g * groupBytes, groupBytes);
    const packedScales = inverse ? s : d;
    const packedQuants = packedScales + (<usize>nb << 3);
    const rows = inverse ? d : s;
    for (let b = 0; b < nb; b++) {
      const o = <usize>b * <usize>Q4_BYTES;
      const ps = packedScales + (<usize>b << 3);
      const pq = packedQuants + (<usize>b << 6);
      for (let r = 0; r < 4; r++) {
        const h = inverse ? loadU16(ps + (<usize>r << 1)) : loadU16(rows + <usize>r * rowBytes + o);
        if ((h & 0x7c00) == 0x7c00) bad++;
        if (inverse) store<u16>(rows + <usize>r * rowBytes + o, <u16>h);
        else store<u16>(ps + (<usize>r << 1), <u16>h);
      }
      // The 4×4 transpose of 32-bit lanes is its own inverse.
      if (inverse) {
        transpose4(v128.load(pq), v128.load(pq, 16), v128.load(pq, 32), v128.load(pq, 48), s + groupBytes);
        for (let r = 0; r < 4; r++) v128.store(rows + <usize>r * rowBytes + o + 2, v128.load(s + groupBytes + (<usize>r << 4)));
      } else {
        const q = rows + o + 2;
        transpose4(v128.load(q), v128.load(q + rowBytes), v128.load(q + 2 * rowBytes), v128.load(q + 3 * rowBytes), pq);
      }
    }
  }
  // The last n mod 4 rows stay Q4_0.
  if (tid == 0 && src != dst) {
    const tail = <usize>groups * groupBytes;
    memory.copy(dst + tail, src + tail, <usize>(n & 3) * rowBytes);
  }
  if (bad != 0) atomic.add<i32>(flags, bad);
}
