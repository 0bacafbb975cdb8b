// Conversions between storage formats, bit-exact with the js reference (src/backend/js/convert.ts):
// f32 → f16 and → bf16 round to nearest even (f16 subnormals, Inf, quiet NaN with payload), f32 → q8/q4 as
// llama.cpp's reference quantizers, and any format → f32. Other pairs go through f32 in per-thread scratch.
// Shares are whole 32-element units, so quantized blocks are never split.
import { split } from "./common";
import { BF16, decodeRow, F16, F32, formatBytes, Q4, Q4_BYTES, Q8, Q8_BYTES } from "./formats";

/** Elements staged through scratch (4 KiB per thread). */
export const CONVERT_CHUNK: i32 = 1024;

/** f32 bits → f16 bits in the low 16 bits of each i32 lane (see src/formats/half.ts f32ToF16Bits). */
@inline
function f32ToF16v(v: v128): v128 {
  const sign = i32x4.shr_u(v128.and(v, i32x4.splat(0x80000000)), 16);
  const a = v128.and(v, i32x4.splat(0x7fffffff));
  // Normal range: drop 13 mantissa bits, rounding to nearest even, and rebias the exponent.
  const odd = v128.and(i32x4.shr_u(a, 13), i32x4.splat(1));
  const normal = i32x4.shr_u(i32x4.add(i32x4.add(a, i32x4.splat(0xc8000fff)), odd), 13); // a − (112 << 23) + 0xfff + odd
  // Subnormal range: adding 0.5 makes the f32 unit in the last place 2^-24, the f16 subnormal step.
  const sub = i32x4.sub(f32x4.add(a, f32x4.splat(0.5)), i32x4.splat(0x3f000000));
  const nan = v128.or(i32x4.splat(0x7e00), i32x4.shr_u(v128.and(a, i32x4.splat(0x7fffff)), 13));
  let h = v128.bitselect(sub, normal, i32x4.lt_s(a, i32x4.splat(0x38800000)));
  h = v128.bitselect(i32x4.splat(0x7c00), h, i32x4.ge_s(a, i32x4.splat(0x47800000)));
  h = v128.bitselect(nan, h, i32x4.gt_s(a, i32x4.splat(0x7f800000)));
  return v128.or(h, sign);
}

/** Scalar f32 → f16 bits, same rounding. */
export function f32ToF16(x: f32): u32 {
  const v = f32ToF16v(f32x4.splat(x));
  return <u32>i32x4.extract_lane(v, 0);
}

/** f32 bits → bf16 bits (round to nearest even; NaN made quiet). */
@inline
function f32ToBf16v(v: v128): v128 {
  const r = i32x4.shr_u(i32x4.add(i32x4.add(v, i32x4.splat(0x7fff)), v128.and(i32x4.shr_u(v, 16), i32x4.splat(1))), 16);
  const nan = v128.or(i32x4.shr_u(v, 16), i32x4.splat(0x40));
  const isNan = i32x4.gt_s(v128.and(v, i32x4.splat(0x7fffffff)), i32x4.splat(0x7f800000));
  return v128.and(v128.bitselect(nan, r, isNan), i32x4.splat(0xffff));
}

function encodeHalf(src: usize, dst: usize, count: i32, bf16: bool): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) {
    const a = v128.load(src + (<usize>i << 2));
    const b = v128.load(src + (<usize>i << 2), 16);
    const ha = bf16 ? f32ToBf16v(a) : f32ToF16v(a);
    const hb = bf16 ? f32ToBf16v(b) : f32ToF16v(b);
    v128.store(dst + (<usize>i << 1), i16x8.narrow_i32x4_u(ha, hb));
  }
  for (; i < count; i++) {
    const v = f32x4.splat(load<f32>(src + (<usize>i << 2)));
    store<u16>(dst + (<usize>i << 1), <u16>i32x4.extract_lane(bf16 ? f32ToBf16v(v) : f32ToF16v(v), 0));
  }
}

/** Round half away from zero, exactly: trunc, then step away when the dropped fraction is ≥ 0.5. */
@inline
function roundHalfAway(v: v128): v128 {
  const t = f32x4.trunc(v);
  const up = f32x4.ge(f32x4.abs(f32x4.sub(v, t)), f32x4.splat(0.5));
  const one = v128.or(v128.and(v, i32x4.splat(0x80000000)), f32x4.splat(1.0)); // ±1 with v's sign
  return f32x4.add(t, v128.and(up, one));
}

function quantizeQ8(src: usize, dst: usize, blocks: i32): void {
  for (let b = 0; b < blocks; b++) {
    const s = src + (<usize>b << 7);
    const o = dst + <usize>b * <usize>Q8_BYTES;
    let m = f32x4.abs(v128.load(s));
    for (let j = 16; j < 128; j += 16) m = f32x4.max(m, f32x4.abs(v128.load(s + <usize>j)));
    const amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    const d: f32 = amax / 127;
    const id: f32 = d != 0 ? <f32>1 / d : 0;
    store<u16>(o, <u16>f32ToF16(d));
    const vid = f32x4.splat(id);
    for (let h = 0; h < 2; h++) {
      const p = s + (<usize>h << 6);
      const q0 = i32x4.trunc_sat_f32x4_s(roundHalfAway(f32x4.mul(v128.load(p), vid)));
      const q1 = i32x4.trunc_sat_f32x4_s(roundHalfAway(f32x4.mul(v128.load(p, 16), vid)));
      const q2 = i32x4.trunc_sat_f32x4_s(roundHalfAway(f32x4.mul(v128.load(p, 32), vid)));
      const q3 = i32x4.trunc_sat_f32x4_s(roundHalfAway(f32x4.mul(v128.load(p, 48), vid)));
      v128.store(o + 2 + (<usize>h << 4), i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
    }
  }
}

function quantizeQ4(src: usize, dst: usize, blocks: i32): void {
  for (let b = 0; b < blocks; b++) {
    const s = src + (<usize>b << 7);
    const o = dst + <usize>b * <usize>Q4_BYTES;
    // The signed value of largest magnitude (the first one on ties) maps to −8.
    let amax: f32 = 0;
    let vmax: f32 = 0;
    for (let j = 0; j < 32; j++) {
      const v = load<f32>(s + (<usize>j << 2));
      if (amax < abs(v)) {
        amax = abs(v);
        vmax = v;
      }
    }
    const d: f32 = vmax / -8;
    const id: f32 = d != 0 ? <f32>1 / d : 0;
    store<u16>(o, <u16>f32ToF16(d));
    const vid = f32x4.splat(id);
    const half = f32x4.splat(8.5);
    const fifteen = i32x4.splat(15);
    for (let j = 0; j < 16; j += 8) {
      const p = s + (<usize>j << 2);
      const a0 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(v128.load(p), vid), half)), fifteen);
      const a1 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(v128.load(p, 16), vid), half)), fifteen);
      const b0 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(v128.load(p, 64), vid), half)), fifteen);
      const b1 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(v128.load(p, 80), vid), half)), fifteen);
      const lo = i16x8.narrow_i32x4_s(a0, a1);
      const hi = i16x8.narrow_i32x4_s(b0, b1);
      const bytes = v128.or(lo, i16x8.shl(hi, 4)); // element j | element j+16 << 4, in i16 lanes
      v128.store64_lane(o + 2 + <usize>j, i8x16.narrow_i16x8_u(bytes, bytes), 0);
    }
  }
}

/** Encodes `count` f32 at src into `format` at dst (count a multiple of 32 for q8/q4). */
function encode(src: usize, dst: usize, format: i32, count: i32): void {
  if (format == F32) memory.copy(dst, src, <usize>count << 2);
  else if (format == F16) encodeHalf(src, dst, count, false);
  else if (format == BF16) encodeHalf(src, dst, count, true);
  else if (format == Q8) quantizeQ8(src, dst, count >> 5);
  else quantizeQ4(src, dst, count >> 5);
}

export function convert(src: usize, srcFormat: i32, dst: usize, dstFormat: i32, n: i32, scratch: usize, scratchStride: i32, tid: i32, nth: i32): void {
  const own = scratch + <usize>tid * <usize>scratchStride;
  const units = (n + 31) >> 5;
  const lo = split(units, tid, nth) << 5;
  const hi = min(n, split(units, tid + 1, nth) << 5);
  for (let i = lo; i < hi; i += CONVERT_CHUNK) {
    const cnt = min(CONVERT_CHUNK, hi - i);
    const d = dst + formatBytes(dstFormat, <usize>i);
    if (srcFormat == F32) encode(src + (<usize>i << 2), d, dstFormat, cnt);
    else if (dstFormat == F32) decodeRow(src, srcFormat, i, cnt, d);
    else {
      decodeRow(src, srcFormat, i, cnt, own);
      encode(own, d, dstFormat, cnt);
    }
  }
}
