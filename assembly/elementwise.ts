// Element-wise kernels: fill, broadcast add/mul, scale, axpy, strided copy. Shares are aligned element ranges
// (or whole rows for copyStrided). Results are bit-identical to the js reference: add/mul/scale are single f32
// operations; scale by a value that is not an f32 and axpy are done in f64 and rounded once, as JS does.
import { rangeHi, rangeLo, split } from "./common";

export function fill(out: usize, n: i32, value: f32, tid: i32, nth: i32): void {
  const lo = rangeLo(n, tid, nth);
  const hi = rangeHi(n, tid, nth);
  const v = f32x4.splat(value);
  let i = lo;
  for (; i + 4 <= hi; i += 4) v128.store(out + (<usize>i << 2), v);
  for (; i < hi; i++) store<f32>(out + (<usize>i << 2), value);
}

// out[i] = a[i] ⊕ b[i mod bn] over [lo, hi), walking b in runs that do not wrap.
@inline
function broadcastOp(a: usize, b: usize, out: usize, n: i32, bn: i32, isMul: bool, tid: i32, nth: i32): void {
  const lo = rangeLo(n, tid, nth);
  const hi = rangeHi(n, tid, nth);
  let i = lo;
  let j = bn >= n ? i : i % bn;
  while (i < hi) {
    const run = min(hi - i, bn - j);
    const pa = a + (<usize>i << 2);
    const pb = b + (<usize>j << 2);
    const po = out + (<usize>i << 2);
    let t = 0;
    for (; t + 4 <= run; t += 4) {
      const x = v128.load(pa + (<usize>t << 2));
      const y = v128.load(pb + (<usize>t << 2));
      v128.store(po + (<usize>t << 2), isMul ? f32x4.mul(x, y) : f32x4.add(x, y));
    }
    for (; t < run; t++) {
      const x = load<f32>(pa + (<usize>t << 2));
      const y = load<f32>(pb + (<usize>t << 2));
      store<f32>(po + (<usize>t << 2), isMul ? x * y : x + y);
    }
    i += run;
    j = 0;
  }
}

export function add(a: usize, b: usize, out: usize, n: i32, bn: i32, tid: i32, nth: i32): void {
  broadcastOp(a, b, out, n, bn, false, tid, nth);
}

export function mul(a: usize, b: usize, out: usize, n: i32, bn: i32, tid: i32, nth: i32): void {
  broadcastOp(a, b, out, n, bn, true, tid, nth);
}

/** f32x4 → two f64x2 (low pair, high pair). */
@inline
function promoteHi(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 2, 3));
}

/** Two f64x2 → one f32x4, each rounded once. */
@inline
function demote2(lo: v128, hi: v128): v128 {
  return v128.shuffle<i32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

export function scale(a: usize, out: usize, n: i32, s: f64, tid: i32, nth: i32): void {
  const lo = rangeLo(n, tid, nth);
  const hi = rangeHi(n, tid, nth);
  let i = lo;
  const sf = <f32>s;
  if (<f64>sf == s) {
    // f32 × f32 is exact in f64, so one f32 multiply rounds exactly as JS does.
    const v = f32x4.splat(sf);
    for (; i + 4 <= hi; i += 4) v128.store(out + (<usize>i << 2), f32x4.mul(v128.load(a + (<usize>i << 2)), v));
    for (; i < hi; i++) store<f32>(out + (<usize>i << 2), load<f32>(a + (<usize>i << 2)) * sf);
    return;
  }
  const v = f64x2.splat(s);
  for (; i + 4 <= hi; i += 4) {
    const x = v128.load(a + (<usize>i << 2));
    const lo2 = f64x2.mul(f64x2.promote_low_f32x4(x), v);
    const hi2 = f64x2.mul(promoteHi(x), v);
    v128.store(out + (<usize>i << 2), demote2(lo2, hi2));
  }
  for (; i < hi; i++) store<f32>(out + (<usize>i << 2), <f32>(<f64>load<f32>(a + (<usize>i << 2)) * s));
}

export function axpy(y: usize, x: usize, n: i32, alpha: f64, tid: i32, nth: i32): void {
  const lo = rangeLo(n, tid, nth);
  const hi = rangeHi(n, tid, nth);
  const va = f64x2.splat(alpha);
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const py = y + (<usize>i << 2);
    const xv = v128.load(x + (<usize>i << 2));
    const yv = v128.load(py);
    const lo2 = f64x2.add(f64x2.promote_low_f32x4(yv), f64x2.mul(va, f64x2.promote_low_f32x4(xv)));
    const hi2 = f64x2.add(promoteHi(yv), f64x2.mul(va, promoteHi(xv)));
    v128.store(py, demote2(lo2, hi2));
  }
  for (; i < hi; i++) {
    const py = y + (<usize>i << 2);
    store<f32>(py, <f32>(<f64>load<f32>(py) + alpha * <f64>load<f32>(x + (<usize>i << 2))));
  }
}

/**
 * dst (contiguous) ← src viewed as [d0, d1, d2, d3] with element strides s0..s3; elemBytes 1, 2, 4 or 8.
 * Shares are whole rows of d3 elements.
 */
export function copyStrided(
  src: usize,
  dst: usize,
  elemBytes: i32,
  d0: i32,
  d1: i32,
  d2: i32,
  d3: i32,
  s0: i32,
  s1: i32,
  s2: i32,
  s3: i32,
  tid: i32,
  nth: i32,
): void {
  const rows = d0 * d1 * d2;
  const r0 = split(rows, tid, nth);
  const r1 = split(rows, tid + 1, nth);
  const eb = <usize>elemBytes;
  for (let r = r0; r < r1; r++) {
    const i2 = r % d2;
    const i1 = (r / d2) % d1;
    const i0 = r / (d1 * d2);
    const base = src + (<usize>i0 * <usize>s0 + <usize>i1 * <usize>s1 + <usize>i2 * <usize>s2) * eb;
    const o = dst + <usize>r * <usize>d3 * eb;
    if (s3 == 1) {
      memory.copy(o, base, <usize>d3 * eb);
      continue;
    }
    const step = <usize>s3 * eb;
    if (eb == 4) for (let c = 0; c < d3; c++) store<u32>(o + (<usize>c << 2), load<u32>(base + <usize>c * step));
    else if (eb == 2) for (let c = 0; c < d3; c++) store<u16>(o + (<usize>c << 1), load<u16>(base + <usize>c * step));
    else if (eb == 8) for (let c = 0; c < d3; c++) store<u64>(o + (<usize>c << 3), load<u64>(base + <usize>c * step));
    else for (let c = 0; c < d3; c++) store<u8>(o + <usize>c, load<u8>(base + <usize>c * step));
  }
}
