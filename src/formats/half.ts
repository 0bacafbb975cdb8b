/**
 * IEEE half (f16) and bfloat16 conversions, bit-exact with PyTorch/numpy:
 * f32 → f16 and f32 → bf16 round to nearest, ties to even; f16 subnormals are produced and read;
 * Inf stays Inf; NaN stays NaN (made quiet, sign kept). Node 20 has no Float16Array, hence this file.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The raw bits of x as an f32. */
export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

/** The f32 whose bits are `bits`. */
export function bitsToF32(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0]!;
}

/** f32 → f16 bits, round to nearest even. */
export function f32ToF16Bits(x: number): number {
  const b = f32Bits(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0); // NaN (quiet) or Inf
  // Unbiased exponent e = exp - 127; f16 normal range e in [-14, 15].
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00; // overflow → Inf
  if (e >= -14) {
    // Normal: keep 10 mantissa bits, round the 13 dropped bits to nearest even.
    let h = ((e + 15) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) !== 0)) h += 1; // may carry into exponent: correct (→ Inf at max)
    return sign | h;
  }
  if (e < -25) return sign; // below half the smallest subnormal → ±0
  // Subnormal: value = m · 2^-24 with m = round(full_mantissa · 2^(e+24-23)).
  const full = mant | 0x800000; // 24 significant bits
  const dropped = -e - 1; // value = full · 2^(e-23) = (full >> dropped) units of 2^-24, dropped in 14..24
  const m = full >>> dropped;
  const rem = full & ((1 << dropped) - 1);
  const halfway = 1 << (dropped - 1);
  let h = m >>> 0;
  if (rem > halfway || (rem === halfway && (h & 1) !== 0)) h += 1;
  return sign | h;
}

/** f16 bits → f32 (exact). */
export function f16BitsToF32(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return bitsToF32(sign | 0x7f800000 | (mant << 13));
  if (exp !== 0) return bitsToF32(sign | ((exp + 112) << 23) | (mant << 13));
  if (mant === 0) return bitsToF32(sign);
  // Subnormal: mant · 2^-24.
  const v = mant * 2 ** -24;
  return sign ? -v : v;
}

/** f32 → bf16 bits, round to nearest even (as torch does); NaN stays a quiet NaN. */
export function f32ToBf16Bits(x: number): number {
  const b = f32Bits(x);
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return ((b >>> 16) | 0x40) & 0xffff;
  const rounded = b + 0x7fff + ((b >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** bf16 bits → f32 (exact). */
export function bf16BitsToF32(h: number): number {
  return bitsToF32((h & 0xffff) << 16);
}

/** Bulk conversions over arrays (dst may be a view into backend memory). */
export function f16ToF32Array(src: Uint16Array, dst: Float32Array): void {
  for (let i = 0; i < src.length; i++) dst[i] = F16_TABLE[src[i]!]!;
}
export function bf16ToF32Array(src: Uint16Array, dst: Float32Array): void {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
}
export function f32ToF16Array(src: Float32Array, dst: Uint16Array): void {
  for (let i = 0; i < src.length; i++) dst[i] = f32ToF16Bits(src[i]!);
}
export function f32ToBf16Array(src: Float32Array, dst: Uint16Array): void {
  for (let i = 0; i < src.length; i++) dst[i] = f32ToBf16Bits(src[i]!);
}

/** All 65536 f16 values as f32: reading half weights is then a lookup. */
export const F16_TABLE: Float32Array = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = f16BitsToF32(h);
  return t;
})();
