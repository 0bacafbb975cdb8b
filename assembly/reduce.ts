// Reductions. sumRows (a bias gradient) is split by output columns, rowSums by rows; sumSquares sums fixed
// chunks of SUMSQ_CHUNK elements in f64 into partials[chunk], which the caller adds in chunk order, so no
// result depends on the thread count.
import { hsum, loadPartial, rangeHi, rangeLo, split, storePartial } from "./common";

export const SUMSQ_CHUNK: i32 = 8192;

/** out[c] += Σ_r x[r, c]. */
export function sumRows(x: usize, out: usize, rows: i32, cols: i32, tid: i32, nth: i32): void {
  const c0 = rangeLo(cols, tid, nth);
  const c1 = rangeHi(cols, tid, nth);
  const stride = <usize>cols << 2;
  let c = c0;
  for (; c + 16 <= c1; c += 16) {
    let p = x + (<usize>c << 2);
    let s0 = f32x4.splat(0);
    let s1 = s0;
    let s2 = s0;
    let s3 = s0;
    for (let r = 0; r < rows; r++, p += stride) {
      s0 = f32x4.add(s0, v128.load(p));
      s1 = f32x4.add(s1, v128.load(p, 16));
      s2 = f32x4.add(s2, v128.load(p, 32));
      s3 = f32x4.add(s3, v128.load(p, 48));
    }
    const o = out + (<usize>c << 2);
    v128.store(o, f32x4.add(v128.load(o), s0));
    v128.store(o, f32x4.add(v128.load(o, 16), s1), 16);
    v128.store(o, f32x4.add(v128.load(o, 32), s2), 32);
    v128.store(o, f32x4.add(v128.load(o, 48), s3), 48);
  }
  for (; c < c1; c += 4) {
    const cnt = min(4, c1 - c);
    let p = x + (<usize>c << 2);
    let s = f32x4.splat(0);
    for (let r = 0; r < rows; r++, p += stride) s = f32x4.add(s, loadPartial(p, cnt));
    const o = out + (<usize>c << 2);
    storePartial(o, f32x4.add(loadPartial(o, cnt), s), cnt);
  }
}

/** Σ of n f32 at p: four lane sums over 16-element steps, then the lanes in a fixed order. */
export function rowSum(p: usize, n: i32): f32 {
  let s0 = f32x4.splat(0);
  let s1 = s0;
  let s2 = s0;
  let s3 = s0;
  let c = 0;
  for (; c + 16 <= n; c += 16) {
    const q = p + (<usize>c << 2);
    s0 = f32x4.add(s0, v128.load(q));
    s1 = f32x4.add(s1, v128.load(q, 16));
    s2 = f32x4.add(s2, v128.load(q, 32));
    s3 = f32x4.add(s3, v128.load(q, 48));
  }
  for (; c < n; c += 4) s0 = f32x4.add(s0, loadPartial(p + (<usize>c << 2), min(4, n - c)));
  return hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
}

/** out[r] = Σ_c x[r, c]. */
export function rowSums(x: usize, out: usize, rows: i32, cols: i32, tid: i32, nth: i32): void {
  const r0 = split(rows, tid, nth);
  const r1 = split(rows, tid + 1, nth);
  for (let r = r0; r < r1; r++) store<f32>(out + (<usize>r << 2), rowSum(x + ((<usize>r * <usize>cols) << 2), cols));
}

/** partials[c] = Σ x[i]² (f64) over chunk c of SUMSQ_CHUNK elements. */
export function sumSquares(x: usize, n: i32, partials: usize, tid: i32, nth: i32): void {
  const chunks = (n + SUMSQ_CHUNK - 1) / SUMSQ_CHUNK;
  const k0 = split(chunks, tid, nth);
  const k1 = split(chunks, tid + 1, nth);
  for (let k = k0; k < k1; k++) {
    const lo = k * SUMSQ_CHUNK;
    const hi = min(n, lo + SUMSQ_CHUNK);
    let a0 = f64x2.splat(0);
    let a1 = a0;
    let i = lo;
    for (; i + 4 <= hi; i += 4) {
      const v = v128.load(x + (<usize>i << 2));
      const l = f64x2.promote_low_f32x4(v);
      const h = f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 2, 3));
      a0 = f64x2.add(a0, f64x2.mul(l, l));
      a1 = f64x2.add(a1, f64x2.mul(h, h));
    }
    let s = f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1) + (f64x2.extract_lane(a1, 0) + f64x2.extract_lane(a1, 1));
    for (; i < hi; i++) {
      const v = <f64>load<f32>(x + (<usize>i << 2));
      s += v * v;
    }
    store<f64>(partials + (<usize>k << 3), s);
  }
}
