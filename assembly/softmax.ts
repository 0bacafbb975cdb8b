// Softmax (optionally causal-masked), its backward, and cross-entropy with ignored rows, split by rows.
// Row sums are four-lane f32 sums in a fixed order; the log of cross-entropy is taken in f64.
import { hsum, loadPartial, split, storePartial } from "./common";
import { expv, logF64 } from "./math";

@inline
function rowPtr(x: usize, r: i32, cols: i32): usize {
  return x + ((<usize>r * <usize>cols) << 2);
}

/** Lanes ≥ cnt replaced by `fillv`. */
@inline
function loadFill(p: usize, cnt: i32, fillv: v128): v128 {
  const mask = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(cnt));
  return v128.bitselect(cnt >= 4 ? v128.load(p) : loadPartial(p, cnt), fillv, mask);
}

function rowMax(p: usize, n: i32): f32 {
  const ninf = f32x4.splat(-Infinity);
  let m0 = ninf;
  let m1 = ninf;
  let c = 0;
  for (; c + 8 <= n; c += 8) {
    m0 = f32x4.max(m0, v128.load(p + (<usize>c << 2)));
    m1 = f32x4.max(m1, v128.load(p + (<usize>c << 2), 16));
  }
  for (; c < n; c += 4) m0 = f32x4.max(m0, loadFill(p + (<usize>c << 2), n - c, ninf));
  const m = f32x4.max(m0, m1);
  return max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
}

/** Σ exp(x − mx) over a row; when out ≠ 0 also stores each exp there. */
function rowExpSum(p: usize, n: i32, mx: f32, out: usize): f32 {
  const vm = f32x4.splat(mx);
  let s = f32x4.splat(0);
  for (let c = 0; c < n; c += 4) {
    const cnt = min(4, n - c);
    const e = v128.and(expv(f32x4.sub(loadFill(p + (<usize>c << 2), cnt, vm), vm)), i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(cnt)));
    s = f32x4.add(s, e);
    if (out != 0) {
      if (cnt == 4) v128.store(out + (<usize>c << 2), e);
      else storePartial(out + (<usize>c << 2), e, cnt);
    }
  }
  return hsum(s);
}

export function softmax(x: usize, out: usize, rows: i32, cols: i32, causalT: i32, pastLen: i32, tid: i32, nth: i32): void {
  const r0 = split(rows, tid, nth);
  const r1 = split(rows, tid + 1, nth);
  for (let r = r0; r < r1; r++) {
    const px = rowPtr(x, r, cols);
    const po = rowPtr(out, r, cols);
    const vis = causalT > 0 ? min(cols, pastLen + (r % causalT) + 1) : cols;
    const sum = rowExpSum(px, vis, rowMax(px, vis), po);
    const vs = f32x4.splat(sum);
    let c = 0;
    for (; c + 4 <= vis; c += 4) v128.store(po + (<usize>c << 2), f32x4.div(v128.load(po + (<usize>c << 2)), vs));
    for (; c < vis; c++) store<f32>(po + (<usize>c << 2), load<f32>(po + (<usize>c << 2)) / sum);
    if (vis < cols) memory.fill(po + (<usize>vis << 2), 0, <usize>(cols - vis) << 2);
  }
}

export function softmaxBackward(y: usize, dy: usize, dx: usize, rows: i32, cols: i32, tid: i32, nth: i32): void {
  const r0 = split(rows, tid, nth);
  const r1 = split(rows, tid + 1, nth);
  for (let r = r0; r < r1; r++) {
    const py = rowPtr(y, r, cols);
    const pdy = rowPtr(dy, r, cols);
    const pdx = rowPtr(dx, r, cols);
    let s = f32x4.splat(0);
    for (let c = 0; c < cols; c += 4) {
      const cnt = min(4, cols - c);
      const o = <usize>c << 2;
      s = f32x4.add(s, f32x4.mul(cnt == 4 ? v128.load(pdy + o) : loadPartial(pdy + o, cnt), cnt == 4 ? v128.load(py + o) : loadPartial(py + o, cnt)));
    }
    const dot = f32x4.splat(hsum(s));
    for (let c = 0; c < cols; c += 4) {
      const cnt = min(4, cols - c);
      const o = <usize>c << 2;
      if (cnt == 4) {
        v128.store(pdx + o, f32x4.add(v128.load(pdx + o), f32x4.mul(v128.load(py + o), f32x4.sub(v128.load(pdy + o), dot))));
      } else {
        const v = f32x4.add(loadPartial(pdx + o, cnt), f32x4.mul(loadPartial(py + o, cnt), f32x4.sub(loadPartial(pdy + o, cnt), dot)));
        storePartial(pdx + o, v, cnt);
      }
    }
  }
}

/** logsumexp of a row, in f64. */
@inline
function rowLse(p: usize, n: i32): f64 {
  const mx = rowMax(p, n);
  return <f64>mx + logF64(<f64>rowExpSum(p, n, mx, 0));
}

export function crossEntropy(logits: usize, targets: usize, loss: usize, rows: i32, vocab: i32, ignoreIndex: i32, tid: i32, nth: i32): void {
  const r0 = split(rows, tid, nth);
  const r1 = split(rows, tid + 1, nth);
  for (let r = r0; r < r1; r++) {
    const t = load<i32>(targets + (<usize>r << 2));
    const pl = rowPtr(logits, r, vocab);
    const l = t == ignoreIndex ? 0 : rowLse(pl, vocab) - <f64>load<f32>(pl + (<usize>t << 2));
    store<f32>(loss + (<usize>r << 2), <f32>l);
  }
}

export function crossEntropyBackward(
  logits: usize,
  targets: usize,
  dlogits: usize,
  rows: i32,
  vocab: i32,
  ignoreIndex: i32,
  scale: f32,
  tid: i32,
  nth: i32,
): void {
  const r0 = split(rows, tid, nth);
  const r1 = split(rows, tid + 1, nth);
  const vs = f32x4.splat(scale);
  for (let r = r0; r < r1; r++) {
    const t = load<i32>(targets + (<usize>r << 2));
    if (t == ignoreIndex) continue;
    const pl = rowPtr(logits, r, vocab);
    const pd = rowPtr(dlogits, r, vocab);
    const lse = f32x4.splat(<f32>rowLse(pl, vocab));
    const vt = i32x4.splat(t);
    for (let c = 0; c < vocab; c += 4) {
      const cnt = min(4, vocab - c);
      const o = <usize>c << 2;
      const onehot = v128.and(i32x4.eq(i32x4.add(i32x4(0, 1, 2, 3), i32x4.splat(c)), vt), f32x4.splat(1.0));
      const p = expv(f32x4.sub(cnt == 4 ? v128.load(pl + o) : loadPartial(pl + o, cnt), lse));
      const g = f32x4.mul(vs, f32x4.sub(p, onehot));
      if (cnt == 4) v128.store(pd + o, f32x4.add(v128.load(pd + o), g));
      else storePartial(pd + o, f32x4.add(loadPartial(pd + o, cnt), g), cnt);
    }
  }
}
