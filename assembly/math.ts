// f32x4 transcendental functions for the activation, softmax and loss kernels, and a scalar f64 log.
// exp: Cephes expf (range reduction by ln2 split in two, degree-6 polynomial), about 1 ulp; inputs are clamped
// to [-87.3, 88] so results stay finite and normal (saturating functions built on it never produce NaN).
// erfc: Numerical Recipes' erfcc (relative error < 1.2e-7 for z ≥ 0) with exp(−z²) evaluated as
// exp(−zh²)·exp(−zl(z+zh)), zh = z with 12 mantissa bits, so the large exponent is exact.

@inline
function splat(x: f32): v128 {
  return f32x4.splat(x);
}

export function expv(x0: v128): v128 {
  const x = f32x4.min(f32x4.max(x0, splat(-87.33654)), splat(88.0));
  const n = f32x4.nearest(f32x4.mul(x, splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, splat(-2.12194440e-4)));
  const r2 = f32x4.mul(r, r);
  let p = splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), splat(1.0));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

/** 1 / (1 + exp(−x)), with the argument clamped to ±80 (exact saturation, no Inf/Inf). */
@inline
export function sigmoidv(x: v128): v128 {
  const e = expv(f32x4.neg(f32x4.min(f32x4.max(x, splat(-80.0)), splat(80.0))));
  return f32x4.div(splat(1.0), f32x4.add(splat(1.0), e));
}

/** erfc(z) for z ≥ 0. */
export function erfcPos(z: v128): v128 {
  const t = f32x4.div(splat(1.0), f32x4.add(splat(1.0), f32x4.mul(splat(0.5), z)));
  let p = splat(0.17087277);
  p = f32x4.add(f32x4.mul(p, t), splat(-0.82215223));
  p = f32x4.add(f32x4.mul(p, t), splat(1.48851587));
  p = f32x4.add(f32x4.mul(p, t), splat(-1.13520398));
  p = f32x4.add(f32x4.mul(p, t), splat(0.27886807));
  p = f32x4.add(f32x4.mul(p, t), splat(-0.18628806));
  p = f32x4.add(f32x4.mul(p, t), splat(0.09678418));
  p = f32x4.add(f32x4.mul(p, t), splat(0.37409196));
  p = f32x4.add(f32x4.mul(p, t), splat(1.00002368));
  p = f32x4.add(f32x4.mul(p, t), splat(-1.26551223));
  const zc = f32x4.min(z, splat(10.0)); // erfc(10) ≈ 2e-45: beyond it the result is 0 in f32 anyway
  const zh = v128.and(zc, i32x4.splat(0xfffff000));
  const zl = f32x4.sub(zc, zh);
  const big = expv(f32x4.neg(f32x4.mul(zh, zh)));
  const small = expv(f32x4.sub(p, f32x4.mul(zl, f32x4.add(zc, zh))));
  return f32x4.mul(f32x4.mul(t, big), small);
}

/** Φ(x) = P(N(0,1) ≤ x) = erfc(−x/√2)/2, accurate in relative terms on both tails' small side. */
export function normalCdf(x: v128): v128 {
  const z = f32x4.mul(f32x4.abs(x), splat(0.70710678118654752));
  const h = f32x4.mul(erfcPos(z), splat(0.5));
  const pos = f32x4.ge(x, splat(0.0));
  return v128.bitselect(f32x4.sub(splat(1.0), h), h, pos);
}

/** ln(x) for finite x > 0 (normal), to about 1e-16: atanh series on the mantissa reduced to [√½, √2). */
export function logF64(x: f64): f64 {
  const bits = reinterpret<u64>(x);
  let e = <i32>(bits >> 52) - 1023;
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e += 1;
  }
  const s = (m - 1.0) / (m + 1.0);
  const s2 = s * s;
  let p: f64 = 1.0 / 23.0;
  for (let k = 21; k >= 1; k -= 2) p = p * s2 + 1.0 / <f64>k;
  return <f64>e * 0.6931471805599453 + 2.0 * s * p;
}
