// Activations and their backwards (fn: 0 gelu erf, 1 gelu tanh, 2 quick_gelu, 3 silu) and SwiGLU.
// Written so that no step cancels: gelu = x·Φ(x) with Φ from erfc on the small side, tanh-gelu as
// x·σ(2u) (1 + tanh u = 2σ(2u)), and 1 − σ(y) as e·σ(y) with e = exp(−y).
import { loadPartial, rangeHi, rangeLo, storePartial } from "./common";
import { expv, normalCdf } from "./math";

const GELU_K: f32 = 0.7978845608028654; // √(2/π)
const INV_SQRT_2PI: f32 = 0.3989422804014327;

@inline
function splat(x: f32): v128 {
  return f32x4.splat(x);
}

@inline
function tanhArg(x: v128): v128 {
  const x3 = f32x4.mul(f32x4.mul(x, x), x);
  return f32x4.mul(splat(GELU_K), f32x4.add(x, f32x4.mul(splat(0.044715), x3)));
}

export function activationValue(x: v128, fn: i32): v128 {
  if (fn == 0) return f32x4.mul(x, normalCdf(x));
  let y: v128;
  if (fn == 1) y = f32x4.mul(splat(2.0), tanhArg(x));
  else if (fn == 2) y = f32x4.mul(splat(1.702), x);
  else y = x;
  const e = expv(f32x4.neg(f32x4.min(f32x4.max(y, splat(-80.0)), splat(80.0))));
  return f32x4.div(x, f32x4.add(splat(1.0), e));
}

export function activationDerivative(x: v128, fn: i32): v128 {
  if (fn == 0) {
    const pdf = f32x4.mul(expv(f32x4.mul(f32x4.mul(x, x), splat(-0.5))), splat(INV_SQRT_2PI));
    return f32x4.add(normalCdf(x), f32x4.mul(x, pdf));
  }
  let y: v128;
  if (fn == 1) y = f32x4.mul(splat(2.0), tanhArg(x));
  else if (fn == 2) y = f32x4.mul(splat(1.702), x);
  else y = x;
  const e = expv(f32x4.neg(f32x4.min(f32x4.max(y, splat(-80.0)), splat(80.0))));
  const s = f32x4.div(splat(1.0), f32x4.add(splat(1.0), e));
  const s1 = f32x4.mul(s, f32x4.mul(e, s)); // σ(1 − σ)
  if (fn == 1) {
    // d/dx x·σ(2u) = σ + x·σ(1−σ)·2u'(x), u' = k(1 + 3·0.044715·x²)
    const du = f32x4.mul(splat(2.0 * GELU_K), f32x4.add(splat(1.0), f32x4.mul(splat(0.134145), f32x4.mul(x, x))));
    return f32x4.add(s, f32x4.mul(f32x4.mul(x, s1), du));
  }
  if (fn == 2) return f32x4.add(s, f32x4.mul(f32x4.mul(splat(1.702), x), s1));
  return f32x4.add(s, f32x4.mul(x, s1));
}

export function activation(x: usize, out: usize, n: i32, fn: i32, tid: i32, nth: i32): void {
  const lo = rangeLo(n, tid, nth);
  const hi = rangeHi(n, tid, nth);
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, activationValue(v128.load(x + o), fn));
  }
  if (i < hi) {
    const o = <usize>i << 2;
    storePartial(out + o, activationValue(loadPartial(x + o, hi - i), fn), hi - i);
  }
}

export function activationBackward(x: usize, dy: usize, dx: usize, n: i32, fn: i32, tid: i32, nth: i32): void {
  const lo = rangeLo(n, tid, nth);
  const hi = rangeHi(n, tid, nth);
  let i = lo;
  for (; i < hi; i += 4) {
    const o = <usize>i << 2;
    const cnt = min(4, hi - i);
    const full = cnt == 4;
    const xv = full ? v128.load(x + o) : loadPartial(x + o, cnt);
    const dyv = full ? v128.load(dy + o) : loadPartial(dy + o, cnt);
    const dxv = full ? v128.load(dx + o) : loadPartial(dx + o, cnt);
    const r = f32x4.add(dxv, f32x4.mul(dyv, activationDerivative(xv, fn)));
    if (full) v128.store(dx + o, r);
    else storePartial(dx + o, r, cnt);
  }
}

export function swiglu(gate: usize, up: usize, out: usize, n: i32, tid: i32, nth: i32): void {
  const lo = rangeLo(n, tid, nth);
  const hi = rangeHi(n, tid, nth);
  for (let i = lo; i < hi; i += 4) {
    const o = <usize>i << 2;
    const cnt = min(4, hi - i);
    const full = cnt == 4;
    const g = full ? v128.load(gate + o) : loadPartial(gate + o, cnt);
    const u = full ? v128.load(up + o) : loadPartial(up + o, cnt);
    const r = f32x4.mul(activationValue(g, 3), u);
    if (full) v128.store(out + o, r);
    else storePartial(out + o, r, cnt);
  }
}

export function swigluBackward(
  gate: usize,
  up: usize,
  dy: usize,
  dgate: usize,
  dup: usize,
  n: i32,
  tid: i32,
  nth: i32,
): void {
  const lo = rangeLo(n, tid, nth);
  const hi = rangeHi(n, tid, nth);
  for (let i = lo; i < hi; i += 4) {
    const o = <usize>i << 2;
    const cnt = min(4, hi - i);
    const full = cnt == 4;
    const g = full ? v128.load(gate + o) : loadPartial(gate + o, cnt);
    const u = full ? v128.load(up + o) : loadPartial(up + o, cnt);
    const d = full ? v128.load(dy + o) : loadPartial(dy + o, cnt);
    const dg = full ? v128.load(dgate + o) : loadPartial(dgate + o, cnt);
    const du = full ? v128.load(dup + o) : loadPartial(dup + o, cnt);
    const rg = f32x4.add(dg, f32x4.mul(f32x4.mul(d, u), activationDerivative(g, 3)));
    const ru = f32x4.add(du, f32x4.mul(d, activationValue(g, 3)));
    if (full) {
      v128.store(dgate + o, rg);
      v128.store(dup + o, ru);
    } else {
      storePartial(dgate + o, rg, cnt);
      storePartial(dup + o, ru, cnt);
    }
  }
}
