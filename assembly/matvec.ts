// Matrix products for few activation rows (decode) with f32 dot products: out[i, j] = x[i, :] · w[j, :] with w
// stored [n, k] in f32, f16 or bf16 (linearDot, and gemm with transB and m ≤ 4; q8/q4 weights met there are
// decoded to f32 in scratch chunks first), and x·B with B stored [k, n] (gemm's !transB path for few rows).
// Weight rows are taken four at a time with shared activation loads. Every output is its own row's dot product
// in a fixed order (lanes, then (0+1)+(2+3)), whichever rows it is grouped with and whichever thread takes it,
// so threads take work items dynamically (a busy core simply does fewer): with one batch an item is ~768 KiB of
// rows walked as four sequential streams (rows r, r+L, r+2L, r+3L: long runs the hardware prefetcher follows);
// batched calls take four adjacent rows of one batch.
import { f16ToF32, f16x4ToF32k, loadPartial, loadU16, madd, split, storeF16Consts, storePartial } from "./common";
import { BF16, decodeRow, F16, F32, formatBytes, Q4, Q8 } from "./formats";

/** Decoded chunk length for q8/q4 weights in dotRows (multiple of 8 and 32). */
const DECODE_CHUNK: i32 = 2048;

/** Per-thread scratch of dotRows: f16 constants, accumulators, four decoded row chunks. */
export const DOT_SCRATCH: i32 = 64 + 128 + 4 * DECODE_CHUNK * 4;

@inline
function loadW4(w: usize, idx: i32, format: i32, cMask: v128, c112: v128, c7c: v128, cInf: v128): v128 {
  if (format == F32) return v128.load(w + (<usize>idx << 2));
  if (format == F16) return f16x4ToF32k(v128.load16x4_s(w + (<usize>idx << 1)), cMask, c112, c7c, cInf);
  return i32x4.shl(v128.load16x4_u(w + (<usize>idx << 1)), 16);
}

@inline
function loadW1(w: usize, idx: i32, format: i32): f32 {
  if (format == F32) return load<f32>(w + (<usize>idx << 2));
  if (format == F16) return f16ToF32(loadU16(w + (<usize>idx << 1)));
  return reinterpret<f32>(loadU16(w + (<usize>idx << 1)) << 16);
}

@inline
function loadWPartial(w: usize, idx: i32, cnt: i32, format: i32): v128 {
  if (format == F32) return loadPartial(w + (<usize>idx << 2), cnt);
  let v = f32x4.splat(0);
  if (cnt > 0) v = f32x4.replace_lane(v, 0, loadW1(w, idx, format));
  if (cnt > 1) v = f32x4.replace_lane(v, 1, loadW1(w, idx + 1, format));
  if (cnt > 2) v = f32x4.replace_lane(v, 2, loadW1(w, idx + 2, format));
  return v;
}

/**
 * acc[0..7] (v128s at accp: two per row) += x[k0..k1) ⊙ w_r[k0..k1) for the four rows; 8-element steps, then
 * 4-element steps with zero-padded lanes (only in the last chunk of a row). consts: storeF16Consts.
 */
@inline
function dot4Body(x: usize, w0: usize, w1: usize, w2: usize, w3: usize, k0: i32, k1: i32, accp: usize, consts: usize, format: i32): void {
  const cMask = v128.load(consts);
  const c112 = v128.load(consts, 16);
  const c7c = v128.load(consts, 32);
  const cInf = v128.load(consts, 48);
  const e16 = v128.or(c7c, i32x4.shl(c7c, 16)); // 0x7c00 in every i16 lane, from a load (stays in a register)
  let a00 = v128.load(accp);
  let a01 = v128.load(accp, 16);
  let a10 = v128.load(accp, 32);
  let a11 = v128.load(accp, 48);
  let a20 = v128.load(accp, 64);
  let a21 = v128.load(accp, 80);
  let a30 = v128.load(accp, 96);
  let a31 = v128.load(accp, 112);
  let p = k0;
  for (; p + 8 <= k1; p += 8) {
    const x0 = v128.load(x + (<usize>p << 2));
    const x1 = v128.load(x + (<usize>p << 2), 16);
    if (format == F16) {
      // The conversion's constants take registers: one accumulator per row (conversion, not FMA latency, bounds
      // this loop), and one 16-byte load per row, widened in halves. When none of the 32 values is Inf or NaN
      // (one test for the four rows) each half converts in three operations (<< 13, mask, × 2^112: exact for
      // normals, subnormals and zeros); otherwise the full conversion, so the result is the same either way.
      const h0 = v128.load(w0 + (<usize>p << 1));
      const h1 = v128.load(w1 + (<usize>p << 1));
      const h2 = v128.load(w2 + (<usize>p << 1));
      const h3 = v128.load(w3 + (<usize>p << 1));
      const any = v128.and(v128.or(v128.or(h0, h1), v128.or(h2, h3)), e16);
      if (!v128.any_true(i16x8.eq(any, e16))) {
        a00 = madd(x1, f32x4.mul(v128.and(i32x4.shl(i32x4.extend_high_i16x8_s(h0), 13), cMask), c112), madd(x0, f32x4.mul(v128.and(i32x4.shl(i32x4.extend_low_i16x8_s(h0), 13), cMask), c112), a00));
        a10 = madd(x1, f32x4.mul(v128.and(i32x4.shl(i32x4.extend_high_i16x8_s(h1), 13), cMask), c112), madd(x0, f32x4.mul(v128.and(i32x4.shl(i32x4.extend_low_i16x8_s(h1), 13), cMask), c112), a10));
        a20 = madd(x1, f32x4.mul(v128.and(i32x4.shl(i32x4.extend_high_i16x8_s(h2), 13), cMask), c112), madd(x0, f32x4.mul(v128.and(i32x4.shl(i32x4.extend_low_i16x8_s(h2), 13), cMask), c112), a20));
        a30 = madd(x1, f32x4.mul(v128.and(i32x4.shl(i32x4.extend_high_i16x8_s(h3), 13), cMask), c112), madd(x0, f32x4.mul(v128.and(i32x4.shl(i32x4.extend_low_i16x8_s(h3), 13), cMask), c112), a30));
        continue;
      }
      a00 = madd(x1, f16x4ToF32k(i32x4.extend_high_i16x8_s(h0), cMask, c112, c7c, cInf), madd(x0, f16x4ToF32k(i32x4.extend_low_i16x8_s(h0), cMask, c112, c7c, cInf), a00));
      a10 = madd(x1, f16x4ToF32k(i32x4.extend_high_i16x8_s(h1), cMask, c112, c7c, cInf), madd(x0, f16x4ToF32k(i32x4.extend_low_i16x8_s(h1), cMask, c112, c7c, cInf), a10));
      a20 = madd(x1, f16x4ToF32k(i32x4.extend_high_i16x8_s(h2), cMask, c112, c7c, cInf), madd(x0, f16x4ToF32k(i32x4.extend_low_i16x8_s(h2), cMask, c112, c7c, cInf), a20));
      a30 = madd(x1, f16x4ToF32k(i32x4.extend_high_i16x8_s(h3), cMask, c112, c7c, cInf), madd(x0, f16x4ToF32k(i32x4.extend_low_i16x8_s(h3), cMask, c112, c7c, cInf), a30));
      continue;
    }
    a00 = madd(x0, loadW4(w0, p, format, cMask, c112, c7c, cInf), a00);
    a01 = madd(x1, loadW4(w0, p + 4, format, cMask, c112, c7c, cInf), a01);
    a10 = madd(x0, loadW4(w1, p, format, cMask, c112, c7c, cInf), a10);
    a11 = madd(x1, loadW4(w1, p + 4, format, cMask, c112, c7c, cInf), a11);
    a20 = madd(x0, loadW4(w2, p, format, cMask, c112, c7c, cInf), a20);
    a21 = madd(x1, loadW4(w2, p + 4, format, cMask, c112, c7c, cInf), a21);
    a30 = madd(x0, loadW4(w3, p, format, cMask, c112, c7c, cInf), a30);
    a31 = madd(x1, loadW4(w3, p + 4, format, cMask, c112, c7c, cInf), a31);
  }
  for (; p < k1; p += 4) {
    const cnt = min(4, k1 - p);
    const x0 = loadPartial(x + (<usize>p << 2), cnt);
    a00 = madd(x0, loadWPartial(w0, p, cnt, format), a00);
    a10 = madd(x0, loadWPartial(w1, p, cnt, format), a10);
    a20 = madd(x0, loadWPartial(w2, p, cnt, format), a20);
    a30 = madd(x0, loadWPartial(w3, p, cnt, format), a30);
  }
  v128.store(accp, a00);
  v128.store(accp, a01, 16);
  v128.store(accp, a10, 32);
  v128.store(accp, a11, 48);
  v128.store(accp, a20, 64);
  v128.store(accp, a21, 80);
  v128.store(accp, a30, 96);
  v128.store(accp, a31, 112);
}

function dot4F32(x: usize, w0: usize, w1: usize, w2: usize, w3: usize, k0: i32, k1: i32, accp: usize, consts: usize): void {
  dot4Body(x, w0, w1, w2, w3, k0, k1, accp, consts, F32);
}
function dot4F16(x: usize, w0: usize, w1: usize, w2: usize, w3: usize, k0: i32, k1: i32, accp: usize, consts: usize): void {
  dot4Body(x, w0, w1, w2, w3, k0, k1, accp, consts, F16);
}
function dot4BF16(x: usize, w0: usize, w1: usize, w2: usize, w3: usize, k0: i32, k1: i32, accp: usize, consts: usize): void {
  dot4Body(x, w0, w1, w2, w3, k0, k1, accp, consts, BF16);
}

/** [Σ lanes of (acc[2r] + acc[2r+1])] for r = 0..3, each summed (0+1)+(2+3). */
@inline
function finishDot4(accp: usize): v128 {
  const a = f32x4.add(v128.load(accp), v128.load(accp, 16));
  const b = f32x4.add(v128.load(accp, 32), v128.load(accp, 48));
  const c = f32x4.add(v128.load(accp, 64), v128.load(accp, 80));
  const d = f32x4.add(v128.load(accp, 96), v128.load(accp, 112));
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 2, 6), v128.shuffle<f32>(a, b, 1, 5, 3, 7)); // a0+a1 b0+b1 a2+a3 b2+b3
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 2, 6), v128.shuffle<f32>(c, d, 1, 5, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/** out[0..cnt) = alpha·s (+ out when accumulate) (+ bias[0..cnt)). */
@inline
export function storeResult(out: usize, s: v128, cnt: i32, alpha: f32, accumulate: bool, bias: usize): void {
  let r = alpha == 1 ? s : f32x4.mul(s, f32x4.splat(alpha));
  if (accumulate) r = f32x4.add(r, cnt == 4 ? v128.load(out) : loadPartial(out, cnt));
  if (bias != 0) r = f32x4.add(r, cnt == 4 ? v128.load(bias) : loadPartial(bias, cnt));
  if (cnt == 4) v128.store(out, r);
  else storePartial(out, r, cnt);
}

/** *out = alpha·s (+ *out when accumulate) (+ *bias): one lane of storeResult, same operations. */
@inline
export function storeOne(out: usize, s: f32, alpha: f32, accumulate: bool, bias: usize): void {
  let r = alpha == 1 ? s : s * alpha;
  if (accumulate) r = r + load<f32>(out);
  if (bias != 0) r = r + load<f32>(bias);
  store<f32>(out, r);
}

/** Four rows j0..j3 (j_s < n for the valid ones; others repeat a valid row) and their stores. */
function dotGroup(
  a: usize,
  b: usize,
  c: usize,
  bias: usize,
  format: i32,
  bi: i32,
  j0: i32,
  j1: i32,
  j2: i32,
  j3: i32,
  valid: i32,
  m: i32,
  k: i32,
  lda: i32,
  ldb: i32,
  ldc: i32,
  strideA: i32,
  strideB: i32,
  strideC: i32,
  bGroup: i32,
  alpha: f32,
  accumulate: bool,
  scratch: usize,
): void {
  const consts = scratch;
  const accp = scratch + 64;
  const dec = scratch + 192;
  const bOff = <usize>(bi / bGroup) * <usize>strideB;
  const w0 = b + formatBytes(format, bOff + <usize>j0 * <usize>ldb);
  const w1 = b + formatBytes(format, bOff + <usize>j1 * <usize>ldb);
  const w2 = b + formatBytes(format, bOff + <usize>j2 * <usize>ldb);
  const w3 = b + formatBytes(format, bOff + <usize>j3 * <usize>ldb);
  for (let i = 0; i < m; i++) {
    const x = a + ((<usize>bi * <usize>strideA + <usize>i * <usize>lda) << 2);
    const zero = f32x4.splat(0);
    for (let q = 0; q < 8; q++) v128.store(accp + (<usize>q << 4), zero);
    if (format == F32) dot4F32(x, w0, w1, w2, w3, 0, k, accp, consts);
    else if (format == F16) dot4F16(x, w0, w1, w2, w3, 0, k, accp, consts);
    else if (format == BF16) dot4BF16(x, w0, w1, w2, w3, 0, k, accp, consts);
    else if (format == Q8 || format == Q4) {
      const cs = <usize>DECODE_CHUNK << 2;
      for (let p = 0; p < k; p += DECODE_CHUNK) {
        const len = min(DECODE_CHUNK, k - p);
        decodeRow(w0, format, p, len, dec);
        decodeRow(w1, format, p, len, dec + cs);
        decodeRow(w2, format, p, len, dec + 2 * cs);
        decodeRow(w3, format, p, len, dec + 3 * cs);
        dot4F32(x + (<usize>p << 2), dec, dec + cs, dec + 2 * cs, dec + 3 * cs, 0, len, accp, consts);
      }
    }
    const s = finishDot4(accp);
    const out = c + ((<usize>bi * <usize>strideC + <usize>i * <usize>ldc) << 2);
    const bb = bias != 0;
    if (valid & 1) storeOne(out + (<usize>j0 << 2), f32x4.extract_lane(s, 0), alpha, accumulate, bb ? bias + (<usize>j0 << 2) : 0);
    if (valid & 2) storeOne(out + (<usize>j1 << 2), f32x4.extract_lane(s, 1), alpha, accumulate, bb ? bias + (<usize>j1 << 2) : 0);
    if (valid & 4) storeOne(out + (<usize>j2 << 2), f32x4.extract_lane(s, 2), alpha, accumulate, bb ? bias + (<usize>j2 << 2) : 0);
    if (valid & 8) storeOne(out + (<usize>j3 << 2), f32x4.extract_lane(s, 3), alpha, accumulate, bb ? bias + (<usize>j3 << 2) : 0);
  }
}

/** Bytes of weights per work item of a single-batch dotRows / linearQuant (four streams of a quarter each). */
const CHUNK_BYTES: i32 = 768 << 10;

/**
 * Rows per work item: about CHUNK_BYTES (long sequential streams prefetch well), a multiple of 4, at least 16,
 * and small enough that each thread gets about four items (balance). Results do not depend on it.
 */
export function chunkRows(n: i32, rowBytes: usize, nth: i32): i32 {
  let rows = <i32>(<usize>CHUNK_BYTES / max<usize>(rowBytes, 1));
  rows = min(rows, (n + 4 * nth - 1) / (4 * nth));
  return max(16, (rows + 3) & ~3);
}

/**
 * C[bi][i, j] = alpha·Σ_p A[bi][i, p]·B[bi/bGroup][j, p] (+ C) (+ bias[j]) for few rows i: the dot-product
 * path of gemm with transB, and linearDot. Threads take work items from the atomic counter at `counter`
 * (zeroed by the caller): chunkRows rows of the one batch, walked as four streams, or four adjacent rows of one
 * batch when there are several. Scratch (per thread): DOT_SCRATCH bytes.
 */
export function dotRows(
  a: usize,
  b: usize,
  c: usize,
  bias: usize,
  format: i32,
  batch: i32,
  m: i32,
  n: i32,
  k: i32,
  lda: i32,
  ldb: i32,
  ldc: i32,
  strideA: i32,
  strideB: i32,
  strideC: i32,
  bGroup: i32,
  alpha: f32,
  accumulate: bool,
  scratch: usize,
  counter: usize,
  nth: i32,
): void {
  storeF16Consts(scratch);
  if (batch == 1) {
    const rows = chunkRows(n, formatBytes(format, <usize>k), nth);
    const chunks = (n + rows - 1) / rows;
    for (;;) {
      const item = atomic.add<i32>(counter, 1);
      if (item >= chunks) break;
      const r0 = item * rows;
      const r1 = min(n, r0 + rows);
      const len = (r1 - r0 + 3) >> 2;
      for (let t = 0; t < len; t++) {
        const j0 = r0 + t;
        const j1 = j0 + len;
        const j2 = j1 + len;
        const j3 = j2 + len;
        const valid = 1 | (j1 < r1 ? 2 : 0) | (j2 < r1 ? 4 : 0) | (j3 < r1 ? 8 : 0);
        dotGroup(a, b, c, bias, format, 0, j0, min(j1, r1 - 1), min(j2, r1 - 1), min(j3, r1 - 1), valid, m, k, lda, ldb, ldc, strideA, strideB, strideC, bGroup, alpha, accumulate, scratch);
      }
    }
    return;
  }
  const groups = (n + 3) >> 2;
  for (;;) {
    const u = atomic.add<i32>(counter, 1);
    if (u >= batch * groups) break;
    const bi = u / groups;
    const j0 = (u % groups) << 2;
    const valid = (1 << min(4, n - j0)) - 1;
    dotGroup(a, b, c, bias, format, bi, j0, min(j0 + 1, n - 1), min(j0 + 2, n - 1), min(j0 + 3, n - 1), valid, m, k, lda, ldb, ldc, strideA, strideB, strideC, bGroup, alpha, accumulate, scratch);
  }
}

export function linearDot(x: usize, w: usize, format: i32, bias: usize, out: usize, m: i32, n: i32, k: i32, scratch: usize, scratchStride: i32, counter: usize, tid: i32, nth: i32): void {
  const own = scratch + <usize>tid * <usize>scratchStride;
  dotRows(x, w, out, bias, format, 1, m, n, k, k, k, n, 0, 0, 0, 1, 1, false, own, counter, nth);
}

/**
 * C[i, j] = alpha·Σ_p A[i, p]·B[p, j] (+ C) (+ bias[j]) for few rows with B stored [k, n] (f32): the gemm
 * path for !transB and m ≤ 4 (attention's probabilities × V at decode). Shares: 16-column groups over all
 * batches and rows.
 */
export function axpyRows(
  a: usize,
  b: usize,
  c: usize,
  bias: usize,
  batch: i32,
  m: i32,
  n: i32,
  k: i32,
  lda: i32,
  ldb: i32,
  ldc: i32,
  strideA: i32,
  strideB: i32,
  strideC: i32,
  bGroup: i32,
  alpha: f32,
  accumulate: bool,
  tid: i32,
  nth: i32,
): void {
  const groups = (n + 15) >> 4;
  const u0 = split(batch * m * groups, tid, nth);
  const u1 = split(batch * m * groups, tid + 1, nth);
  const rowStep = <usize>ldb << 2;
  for (let u = u0; u < u1; u++) {
    const g = u % groups;
    const i = (u / groups) % m;
    const bi = u / (groups * m);
    const j0 = g << 4;
    const cols = min(16, n - j0);
    const pa = a + ((<usize>bi * <usize>strideA + <usize>i * <usize>lda) << 2);
    let pb = b + ((<usize>(bi / bGroup) * <usize>strideB + <usize>j0) << 2);
    let s0 = f32x4.splat(0);
    let s1 = s0;
    let s2 = s0;
    let s3 = s0;
    if (cols == 16) {
      for (let p = 0; p < k; p++, pb += rowStep) {
        const av = v128.load32_splat(pa + (<usize>p << 2));
        s0 = madd(av, v128.load(pb), s0);
        s1 = madd(av, v128.load(pb, 16), s1);
        s2 = madd(av, v128.load(pb, 32), s2);
        s3 = madd(av, v128.load(pb, 48), s3);
      }
    } else {
      const c0 = min(4, cols);
      const c1 = max(0, min(4, cols - 4));
      const c2 = max(0, min(4, cols - 8));
      const c3 = max(0, min(4, cols - 12));
      for (let p = 0; p < k; p++, pb += rowStep) {
        const av = v128.load32_splat(pa + (<usize>p << 2));
        s0 = madd(av, loadPartial(pb, c0), s0);
        s1 = madd(av, loadPartial(pb + 16, c1), s1);
        s2 = madd(av, loadPartial(pb + 32, c2), s2);
        s3 = madd(av, loadPartial(pb + 48, c3), s3);
      }
    }
    const out = c + ((<usize>bi * <usize>strideC + <usize>i * <usize>ldc + <usize>j0) << 2);
    const pbias = bias != 0 ? bias + (<usize>j0 << 2) : 0;
    storeResult(out, s0, min(4, cols), alpha, accumulate, pbias);
    if (cols > 4) storeResult(out + 16, s1, min(4, cols - 4), alpha, accumulate, pbias != 0 ? pbias + 16 : 0);
    if (cols > 8) storeResult(out + 32, s2, min(4, cols - 8), alpha, accumulate, pbias != 0 ? pbias + 32 : 0);
    if (cols > 12) storeResult(out + 48, s3, cols - 12, alpha, accumulate, pbias != 0 ? pbias + 48 : 0);
  }
}
