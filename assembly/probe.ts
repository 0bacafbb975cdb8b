// Probes of implementation-defined relaxed-SIMD behaviour, run once by the backend and by the tests:
// i16x8.relaxed_dot_i8x16_i7x16_s(a, b) → out[0..16) and i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c) →
// out[16..32), for 16-byte a, b and 4 × i32 c in memory. Returns 0 on builds without relaxed SIMD.

export function relaxedDotProbe(a: usize, b: usize, c: usize, out: usize): i32 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const va = v128.load(a);
    const vb = v128.load(b);
    v128.store(out, i16x8.relaxed_dot_i8x16_i7x16_s(va, vb));
    v128.store(out, i32x4.relaxed_dot_i8x16_i7x16_add_s(va, vb, v128.load(c)), 16);
    return 1;
  }
  return 0;
}
