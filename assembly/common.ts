// Shared helpers for the kernels: work partitioning, half-precision decoding, relaxed-SIMD switches.
// Every kernel takes (…args, tid, nth) and computes only share `tid` of `nth`; shares are whole output rows,
// columns or aligned element ranges, so each output element is computed the same way for any thread count.

/** Start of share `tid` when `total` units are split into `nth` contiguous shares. */
@inline
export function split(total: i32, tid: i32, nth: i32): i32 {
  return <i32>((<i64>total * <i64>tid) / <i64>nth);
}

/** Element range [lo, hi) of share `tid` over n elements, cut at multiples of 16 (whole SIMD iterations). */
@inline
export function rangeLo(n: i32, tid: i32, nth: i32): i32 {
  return split((n + 15) >> 4, tid, nth) << 4;
}
@inline
export function rangeHi(n: i32, tid: i32, nth: i32): i32 {
  const hi = split((n + 15) >> 4, tid + 1, nth) << 4;
  return hi < n ? hi : n;
}

/** a·b + c: fused on relaxed SIMD builds (x64: vfmadd), separate multiply and add otherwise. */
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Sum of the four f32 lanes in a fixed order ((0+1)+(2+3)). */
@inline
export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** [Σa, Σb, Σc, Σd] of four i32x4 vectors (integer sums: exact in any order). */
@inline
export function hsum4I(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(v128.shuffle<i32>(a, b, 0, 4, 1, 5), v128.shuffle<i32>(a, b, 2, 6, 3, 7)); // a0+a2 b0+b2 a1+a3 b1+b3
  const cd = i32x4.add(v128.shuffle<i32>(c, d, 0, 4, 1, 5), v128.shuffle<i32>(c, d, 2, 6, 3, 7));
  return i32x4.add(v128.shuffle<i32>(ab, cd, 0, 1, 4, 5), v128.shuffle<i32>(ab, cd, 2, 3, 6, 7));
}

/** f16 bits (low 16 bits of h) → f32, exact for zeros, subnormals, normals, Inf and NaN. */
@inline
export function f16ToF32(h: u32): f32 {
  const em = (h & 0x7fff) << 13;
  let v = reinterpret<f32>(em) * reinterpret<f32>(0x77800000); // × 2^112 rebiases normals and subnormals
  if ((h & 0x7c00) == 0x7c00) v = reinterpret<f32>(em | 0x7f800000);
  return reinterpret<f32>(reinterpret<u32>(v) | ((h & 0x8000) << 16));
}

/**
 * Four f16 values, sign-extended into i32 lanes (i32x4.extend_*_i16x8_s), → f32x4, exact including Inf/NaN:
 * << 13 puts sign, exponent and mantissa in the f32 fields, × 2^112 rebiases the exponent (subnormals too);
 * for exponent 31 the product is 2^16·1.m, and OR-ing in the f32 exponent field makes it Inf/NaN, payload kept.
 * The constants are parameters so hot loops can keep them in registers (F16_CONSTS).
 */
@inline
export function f16x4ToF32k(h: v128, cMask: v128, c112: v128, c7c: v128, cInf: v128): v128 {
  const v = f32x4.mul(v128.and(i32x4.shl(h, 13), cMask), c112);
  return v128.or(v, v128.and(i32x4.eq(v128.and(h, c7c), c7c), cInf));
}

@inline
export function f16x4ToF32(h: v128): v128 {
  return f16x4ToF32k(h, i32x4.splat(0x8fffe000), f32x4.splat(reinterpret<f32>(0x77800000)), i32x4.splat(0x7c00), i32x4.splat(0x7f800000));
}

/** Stores the four f16x4ToF32k constants (64 bytes) at p, for loops to load once. */
@inline
export function storeF16Consts(p: usize): void {
  v128.store(p, i32x4.splat(0x8fffe000));
  v128.store(p, f32x4.splat(reinterpret<f32>(0x77800000)), 16);
  v128.store(p, i32x4.splat(0x7c00), 32);
  v128.store(p, i32x4.splat(0x7f800000), 48);
}

/** Little-endian u16 at p. */
@inline
export function loadU16(p: usize): u32 {
  return <u32>load<u16>(p);
}

/** Loads cnt (0..4) f32 at p into the low lanes of a vector, zeros elsewhere (for loop tails). */
@inline
export function loadPartial(p: usize, cnt: i32): v128 {
  let v = f32x4.splat(0);
  if (cnt > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (cnt > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (cnt > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  if (cnt > 3) v = f32x4.replace_lane(v, 3, load<f32>(p, 12));
  return v;
}

/** Stores the low cnt (0..4) lanes of v at p. */
@inline
export function storePartial(p: usize, v: v128, cnt: i32): void {
  if (cnt > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (cnt > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (cnt > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
  if (cnt > 3) store<f32>(p, f32x4.extract_lane(v, 3), 12);
}

/** Stores the 4×4 transpose (as i32 lanes) of rows a, b, c, d: vector t = [a_t, b_t, c_t, d_t] at p + 16·t. */
@inline
export function transpose4(a: v128, b: v128, c: v128, d: v128, p: usize): void {
  const t0 = v128.shuffle<i32>(a, b, 0, 4, 1, 5);
  const t1 = v128.shuffle<i32>(a, b, 2, 6, 3, 7);
  const t2 = v128.shuffle<i32>(c, d, 0, 4, 1, 5);
  const t3 = v128.shuffle<i32>(c, d, 2, 6, 3, 7);
  v128.store(p, v128.shuffle<i32>(t0, t2, 0, 1, 4, 5));
  v128.store(p, v128.shuffle<i32>(t0, t2, 2, 3, 6, 7), 16);
  v128.store(p, v128.shuffle<i32>(t1, t3, 0, 1, 4, 5), 32);
  v128.store(p, v128.shuffle<i32>(t1, t3, 2, 3, 6, 7), 48);
}
