// Weight storage formats (ids as WeightFormat in src/backend/backend.ts) and decoding rows of them to f32.
// q8 = GGUF Q8_0 (34-byte blocks: f16 scale, 32 × i8), q4 = GGUF Q4_0 (18-byte blocks: f16 scale, 16 bytes of
// nibbles: byte j holds element j low and element j+16 high, value nibble − 8). Layouts: src/formats/blocks.ts.
import { f16ToF32, f16x4ToF32, loadU16 } from "./common";

export const F32: i32 = 0;
export const F16: i32 = 1;
export const BF16: i32 = 2;
export const Q8: i32 = 3;
export const Q4: i32 = 4;
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
