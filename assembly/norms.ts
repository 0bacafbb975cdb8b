// LayerNorm and RMSNorm over the last dimension, forward and backward. Forwards and the dx part of the
// backwards are split by rows; they also write each row's statistics (mean, 1/std) to `stats` [rows, 2] so
// the weight/bias gradients can be summed over rows in a second pass split by columns (…Cols kernels):
// every output element is then summed by one thread in row order.
import { hsum, loadPartial, rangeHi, rangeLo, split, storePartial } from "./common";
import { rowSum } from "./reduce";

@inline
function rowPtr(x: usize, r: i32, cols: i32): usize {
  return x + ((<usize>r * <usize>cols) << 2);
}

/** Σ (x − mean)² over a row. */
function rowVar(p: usize, n: i32, mean: f32): f32 {
  const m = f32x4.splat(mean);
  let s0 = f32x4.splat(0);
  let s1 = s0;
  let c = 0;
  for (; c + 8 <= n; c += 8) {
    const q = p + (<usize>c << 2);
    const d0 = f32x4.sub(v128.load(q), m);
    const d1 = f32x4.sub(v128.load(q, 16), m);
    s0 = f32x4.add(s0, f32x4.mul(d0, d0));
    s1 = f32x4.add(s1, f32x4.mul(d1, d1));
  }
  for (; c < n; c += 4) {
    const cnt = min(4, n - c);
    const d = v128.and(f32x4.sub(loadPartial(p + (<usize>c << 2), cnt), m), laneMask(cnt));
    s0 = f32x4.add(s0, f32x4.mul(d, d));
  }
  return hsum(f32x4.add(s0, s1));
}

/** All-ones in the low cnt lanes. */
@inline
function laneMask(cnt: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(cnt));
}

/** Σ x² over a row. */
function rowSumSq(p: usize, n: i32): f32 {
  let s0 = f32x4.splat(0);
  let s1 = s0;
  let c = 0;
  for (; c + 8 <= n; c += 8) {
    const q = p + (<usize>c << 2);
    const a = v128.load(q);
    const b = v128.load(q, 16);
    s0 = f32x4.add(s0, f32x4.mul(a, a));
    s1 = f32x4.add(s1, f32x4.mul(b, b));
  }
  for (; c < n; c += 4) {
    const a = loadPartial(p + (<usize>c << 2), min(4, n - c));
    s0 = f32x4.add(s0, f32x4.mul(a, a));
  }
  return hsum(f32x4.add(s0, s1));
}

@inline
function loadW(w: usize, c: i32, cnt: i32): v128 {
  if (w == 0) return f32x4.splat(1);
  return cnt == 4 ? v128.load(w + (<usize>c << 2)) : loadPartial(w + (<usize>c << 2), cnt);
}

@inline
function loadB(b: usize, c: i32, cnt: i32): v128 {
  if (b == 0) return f32x4.splat(0);
  return cnt == 4 ? v128.load(b + (<usize>c << 2)) : loadPartial(b + (<usize>c << 2), cnt);
}

@inline
function loadN(p: usize, cnt: i32): v128 {
  return cnt == 4 ? v128.load(p) : loadPartial(p, cnt);
}

@inline
function storeN(p: usize, v: v128, cnt: i32): void {
  if (cnt == 4) v128.store(p, v);
  else storePartial(p, v, cnt);
}

export function layerNorm(x: usize, w: usize, b: usize, out: usize, rows: i32, cols: i32, eps: f32, tid: i32, nth: i32): void {
  const r0 = split(rows, tid, nth);
  const r1 = split(rows, tid + 1, nth);
  for (let r = r0; r < r1; r++) {
    const px = rowPtr(x, r, cols);
    const po = rowPtr(out, r, cols);
    const mean = rowSum(px, cols) / <f32>cols;
    const rstd = <f32>(1.0 / Math.sqrt(<f64>(rowVar(px, cols, mean) / <f32>cols) + <f64>eps));
    const vm = f32x4.splat(mean);
    const vr = f32x4.splat(rstd);
    for (let c = 0; c < cols; c += 4) {
      const cnt = min(4, cols - c);
      const y = f32x4.mul(f32x4.sub(loadN(px + (<usize>c << 2), cnt), vm), vr);
      storeN(po + (<usize>c << 2), f32x4.add(f32x4.mul(y, loadW(w, c, cnt)), loadB(b, c, cnt)), cnt);
    }
  }
}

/** dx += rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·w; writes (mean, rstd) of each row to stats. */
export function layerNormBackwardRows(
  x: usize,
  w: usize,
  dy: usize,
  dx: usize,
  stats: usize,
  rows: i32,
  cols: i32,
  eps: f32,
  tid: i32,
  nth: i32,
): void {
  const r0 = split(rows, tid, nth);
  const r1 = split(rows, tid + 1, nth);
  for (let r = r0; r < r1; r++) {
    const px = rowPtr(x, r, cols);
    const pdy = rowPtr(dy, r, cols);
    const pdx = rowPtr(dx, r, cols);
    const mean = rowSum(px, cols) / <f32>cols;
    const rstd = <f32>(1.0 / Math.sqrt(<f64>(rowVar(px, cols, mean) / <f32>cols) + <f64>eps));
    store<f32>(stats + (<usize>r << 3), mean);
    store<f32>(stats + (<usize>r << 3), rstd, 4);
    const vm = f32x4.splat(mean);
    const vr = f32x4.splat(rstd);
    let sg = f32x4.splat(0);
    let sgx = f32x4.splat(0);
    for (let c = 0; c < cols; c += 4) {
      const cnt = min(4, cols - c);
      const xh = f32x4.mul(f32x4.sub(loadN(px + (<usize>c << 2), cnt), vm), vr);
      const g = f32x4.mul(loadN(pdy + (<usize>c << 2), cnt), loadW(w, c, cnt));
      sg = f32x4.add(sg, g);
      sgx = f32x4.add(sgx, f32x4.mul(g, xh));
    }
    const mg = f32x4.splat(hsum(sg) / <f32>cols);
    const mgx = f32x4.splat(hsum(sgx) / <f32>cols);
    for (let c = 0; c < cols; c += 4) {
      const cnt = min(4, cols - c);
      const xh = f32x4.mul(f32x4.sub(loadN(px + (<usize>c << 2), cnt), vm), vr);
      const g = f32x4.mul(loadN(pdy + (<usize>c << 2), cnt), loadW(w, c, cnt));
      const d = f32x4.mul(vr, f32x4.sub(f32x4.sub(g, mg), f32x4.mul(xh, mgx)));
      const p = pdx + (<usize>c << 2);
      storeN(p, f32x4.add(loadN(p, cnt), d), cnt);
    }
  }
}

/**
 * dw[c] += Σ_r dy·x̂ and db[c] += Σ_r dy (either may be 0 = absent), x̂ = (x − mean)·rstd from the stats of
 * the rows pass (RMSNorm stores (0, rinv), so the same kernel serves both norms).
 */
export function normBackwardCols(
  x: usize,
  dy: usize,
  dw: usize,
  db: usize,
  stats: usize,
  rows: i32,
  cols: i32,
  tid: i32,
  nth: i32,
): void {
  const c0 = rangeLo(cols, tid, nth);
  const c1 = rangeHi(cols, tid, nth);
  const stride = <usize>cols << 2;
  for (let c = c0; c < c1; c += 4) {
    const cnt = min(4, c1 - c);
    let px = x + (<usize>c << 2);
    let pdy = dy + (<usize>c << 2);
    let sw = f32x4.splat(0);
    let sb = f32x4.splat(0);
    for (let r = 0; r < rows; r++, px += stride, pdy += stride) {
      const mean = f32x4.splat(load<f32>(stats + (<usize>r << 3)));
      const rstd = f32x4.splat(load<f32>(stats + (<usize>r << 3), 4));
      const d = loadN(pdy, cnt);
      sw = f32x4.add(sw, f32x4.mul(d, f32x4.mul(f32x4.sub(loadN(px, cnt), mean), rstd)));
      sb = f32x4.add(sb, d);
    }
    if (dw != 0) {
      const p = dw + (<usize>c << 2);
      storeN(p, f32x4.add(loadN(p, cnt), sw), cnt);
    }
    if (db != 0) {
      const p = db + (<usize>c << 2);
      storeN(p, f32x4.add(loadN(p, cnt), sb), cnt);
    }
  }
}

export function rmsNorm(x: usize, w: usize, out: usize, rows: i32, cols: i32, eps: f32, tid: i32, nth: i32): void {
  const r0 = split(rows, tid, nth);
  const r1 = split(rows, tid + 1, nth);
  for (let r = r0; r < r1; r++) {
    const px = rowPtr(x, r, cols);
    const po = rowPtr(out, r, cols);
    const rinv = f32x4.splat(<f32>(1.0 / Math.sqrt(<f64>(rowSumSq(px, cols) / <f32>cols) + <f64>eps)));
    for (let c = 0; c < cols; c += 4) {
      const cnt = min(4, cols - c);
      storeN(po + (<usize>c << 2), f32x4.mul(f32x4.mul(loadN(px + (<usize>c << 2), cnt), rinv), loadW(w, c, cnt)), cnt);
    }
  }
}

/** dx += rinv·(g − x̂·mean(g·x̂)), g = dy·w; writes (0, rinv) of each row to stats. */
export function rmsNormBackwardRows(
  x: usize,
  w: usize,
  dy: usize,
  dx: usize,
  stats: usize,
  rows: i32,
  cols: i32,
  eps: f32,
  tid: i32,
  nth: i32,
): void {
  const r0 = split(rows, tid, nth);
  const r1 = split(rows, tid + 1, nth);
  for (let r = r0; r < r1; r++) {
    const px = rowPtr(x, r, cols);
    const pdy = rowPtr(dy, r, cols);
    const pdx = rowPtr(dx, r, cols);
    const rinvS = <f32>(1.0 / Math.sqrt(<f64>(rowSumSq(px, cols) / <f32>cols) + <f64>eps));
    store<f32>(stats + (<usize>r << 3), 0);
    store<f32>(stats + (<usize>r << 3), rinvS, 4);
    const rinv = f32x4.splat(rinvS);
    let sgx = f32x4.splat(0);
    for (let c = 0; c < cols; c += 4) {
      const cnt = min(4, cols - c);
      const xh = f32x4.mul(loadN(px + (<usize>c << 2), cnt), rinv);
      const g = f32x4.mul(loadN(pdy + (<usize>c << 2), cnt), loadW(w, c, cnt));
      sgx = f32x4.add(sgx, f32x4.mul(g, xh));
    }
    const mgx = f32x4.splat(hsum(sgx) / <f32>cols);
    for (let c = 0; c < cols; c += 4) {
      const cnt = min(4, cols - c);
      const xh = f32x4.mul(loadN(px + (<usize>c << 2), cnt), rinv);
      const g = f32x4.mul(loadN(pdy + (<usize>c << 2), cnt), loadW(w, c, cnt));
      const p = pdx + (<usize>c << 2);
      storeN(p, f32x4.add(loadN(p, cnt), f32x4.mul(rinv, f32x4.sub(g, f32x4.mul(xh, mgx)))), cnt);
    }
  }
}
