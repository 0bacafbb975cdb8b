// General batched GEMM (Backend.gemm): C[bi] = alpha·op(A[bi])·op(B[bi/bGroup]) (+ C) (+ bias).
// Few rows (m ≤ DOT_M) go to the dot-product paths in matvec.ts. Otherwise the Goto/BLIS scheme: B is packed
// KC×NC at a time into NR-column panels (decoding f16/bf16/q8/q4 to f32), A into MR-row panels MC×KC at a
// time, and a 4×8 register-blocked microkernel (v128.load32_splat broadcasts of A, two B vectors, eight
// accumulators; fused multiply-add on relaxed builds) walks the panels. Edges are zero-padded in the packs,
// so edge tiles run the same arithmetic as full ones.
// Every C element is Σ over K in fixed KC blocks, each block summed in k order into one accumulator lane,
// then combined as c = alpha·s₀ (+ c) (+ bias) after the first block and c += alpha·s after the others:
// independent of how tiles are shared out. Threads take work items (batch, NC column block, row chunk) from
// an atomic counter, so a busy core does fewer items.
import { f16ToF32, loadPartial, loadU16, madd, split, storePartial } from "./common";
import { decodeRow, F16, F32, formatBytes } from "./formats";
import { axpyRows, dotRows } from "./matvec";

const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 64;
const NC: i32 = 256;
const DOT_M: i32 = 4;

/** Per-thread scratch bytes the packed path needs: packed A, packed B, decoded B rows. */
export const GEMM_SCRATCH: i32 = (MC * KC + NC * KC + NR * KC) * 4;

@inline
function transposeStore(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, step: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst + step, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * step, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * step, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

/** Packs rows [i0, i0+mc) × k [p0, p0+kc) of op(A) into MR-row panels: panel r holds kc × MR values. */
function packA(a: usize, transA: bool, lda: i32, m: i32, i0: i32, mc: i32, p0: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, m - (i0 + ir));
    const d = dst + ((<usize>ir * <usize>kc) << 2);
    if (!transA) {
      const r0 = a + ((<usize>(i0 + ir) * <usize>lda + <usize>p0) << 2);
      const ld = <usize>lda << 2;
      if (rows == MR) {
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          const o = <usize>p << 2;
          transposeStore(v128.load(r0 + o), v128.load(r0 + ld + o), v128.load(r0 + 2 * ld + o), v128.load(r0 + 3 * ld + o), d + (o << 2), 16);
        }
        for (; p < kc; p++) {
          const o = <usize>p << 2;
          const q = d + (o << 2);
          store<f32>(q, load<f32>(r0 + o));
          store<f32>(q, load<f32>(r0 + ld + o), 4);
          store<f32>(q, load<f32>(r0 + 2 * ld + o), 8);
          store<f32>(q, load<f32>(r0 + 3 * ld + o), 12);
        }
      } else {
        for (let p = 0; p < kc; p++)
          for (let q = 0; q < MR; q++)
            store<f32>(d + ((<usize>(p * MR + q)) << 2), q < rows ? load<f32>(r0 + <usize>q * ld + (<usize>p << 2)) : 0);
      }
    } else {
      // A stored [k, m]: element (i, p) at a[p·lda + i]; four rows of a panel are contiguous.
      for (let p = 0; p < kc; p++) {
        const src = a + ((<usize>(p0 + p) * <usize>lda + <usize>(i0 + ir)) << 2);
        const q = d + ((<usize>p * <usize>MR) << 2);
        if (rows == MR) v128.store(q, v128.load(src));
        else v128.store(q, loadPartial(src, rows));
      }
    }
  }
}

@inline
function loadElem(b: usize, format: i32, idx: usize): f32 {
  if (format == F32) return load<f32>(b + (idx << 2));
  if (format == F16) return f16ToF32(loadU16(b + (idx << 1)));
  return reinterpret<f32>(loadU16(b + (idx << 1)) << 16);
}

/**
 * Packs columns [j0, j0+nc) × k [p0, p0+kc) of op(B) into NR-column panels (kc × NR values each).
 * bOff is the element offset of this batch's B; tmp holds NR decoded rows for non-f32 transB.
 */
function packB(b: usize, format: i32, transB: bool, ldb: i32, bOff: usize, n: i32, j0: i32, nc: i32, p0: i32, kc: i32, dst: usize, tmp: usize): void {
  const zero = f32x4.splat(0);
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, n - (j0 + jr));
    const d = dst + ((<usize>jr * <usize>kc) << 2);
    if (transB) {
      // Row pointers (f32) of the NR rows of B storage, k from p0; missing rows read as zeros below.
      let rowStep: usize;
      let base: usize;
      if (format == F32) {
        base = b + ((bOff + <usize>(j0 + jr) * <usize>ldb + <usize>p0) << 2);
        rowStep = <usize>ldb << 2;
      } else {
        for (let q = 0; q < cols; q++) {
          const row = b + formatBytes(format, bOff + <usize>(j0 + jr + q) * <usize>ldb);
          decodeRow(row, format, p0, kc, tmp + ((<usize>q * <usize>KC) << 2));
        }
        base = tmp;
        rowStep = <usize>KC << 2;
      }
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const o = <usize>p << 2;
        const s = base + o;
        const out = d + (o << 3);
        if (cols == NR) {
          transposeStore(v128.load(s), v128.load(s + rowStep), v128.load(s + 2 * rowStep), v128.load(s + 3 * rowStep), out, 32);
          const s4 = s + 4 * rowStep;
          transposeStore(v128.load(s4), v128.load(s4 + rowStep), v128.load(s4 + 2 * rowStep), v128.load(s4 + 3 * rowStep), out + 16, 32);
        } else {
          const r0 = v128.load(s);
          const r1 = cols > 1 ? v128.load(s + rowStep) : zero;
          const r2 = cols > 2 ? v128.load(s + 2 * rowStep) : zero;
          const r3 = cols > 3 ? v128.load(s + 3 * rowStep) : zero;
          transposeStore(r0, r1, r2, r3, out, 32);
          const s4 = s + 4 * rowStep;
          const r4 = cols > 4 ? v128.load(s4) : zero;
          const r5 = cols > 5 ? v128.load(s4 + rowStep) : zero;
          const r6 = cols > 6 ? v128.load(s4 + 2 * rowStep) : zero;
          transposeStore(r4, r5, r6, zero, out + 16, 32);
        }
      }
      for (; p < kc; p++)
        for (let q = 0; q < NR; q++)
          store<f32>(d + ((<usize>(p * NR + q)) << 2), q < cols ? load<f32>(base + <usize>q * rowStep + (<usize>p << 2)) : 0);
    } else {
      // B stored [k, n]: the NR columns of a panel are contiguous in each row p.
      for (let p = 0; p < kc; p++) {
        const idx = bOff + <usize>(p0 + p) * <usize>ldb + <usize>(j0 + jr);
        const out = d + ((<usize>p * <usize>NR) << 2);
        if (format == F32 && cols == NR) {
          v128.store(out, v128.load(b + (idx << 2)));
          v128.store(out, v128.load(b + (idx << 2), 16), 16);
        } else {
          for (let q = 0; q < NR; q++) store<f32>(out + (<usize>q << 2), q < cols ? loadElem(b, format, idx + <usize>q) : 0);
        }
      }
    }
  }
}

/** One tile result row half: c = alpha·acc (+ c if accumulate) (+ bias) on the first K block, else c += alpha·acc. */
@inline
function combine(p: usize, acc: v128, cnt: i32, first: bool, alpha: f32, accumulate: bool, bias: usize): void {
  if (cnt <= 0) return;
  const full = cnt == 4;
  let r = alpha == 1 ? acc : f32x4.mul(acc, f32x4.splat(alpha));
  if (!first || accumulate) r = f32x4.add(r, full ? v128.load(p) : loadPartial(p, cnt));
  if (first && bias != 0) r = f32x4.add(r, full ? v128.load(bias) : loadPartial(bias, cnt));
  if (full) v128.store(p, r);
  else storePartial(p, r, cnt);
}

/** The 4×8 microkernel over kc steps of packed A (4 per step) and packed B (8 per step), then the combine. */
function micro(ap: usize, bp: usize, kc: i32, c: usize, ldc: i32, rows: i32, cols: i32, first: bool, alpha: f32, accumulate: bool, bias: usize): void {
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    ap += 16;
    bp += 32;
  }
  const n0 = min(4, cols);
  const n1 = cols - 4;
  const ld = <usize>ldc << 2;
  const bias1 = bias != 0 ? bias + 16 : 0;
  combine(c, c00, n0, first, alpha, accumulate, bias);
  combine(c + 16, c01, n1, first, alpha, accumulate, bias1);
  if (rows > 1) {
    combine(c + ld, c10, n0, first, alpha, accumulate, bias);
    combine(c + ld + 16, c11, n1, first, alpha, accumulate, bias1);
  }
  if (rows > 2) {
    combine(c + 2 * ld, c20, n0, first, alpha, accumulate, bias);
    combine(c + 2 * ld + 16, c21, n1, first, alpha, accumulate, bias1);
  }
  if (rows > 3) {
    combine(c + 3 * ld, c30, n0, first, alpha, accumulate, bias);
    combine(c + 3 * ld + 16, c31, n1, first, alpha, accumulate, bias1);
  }
}

export function gemm(
  a: usize,
  b: usize,
  c: usize,
  bias: usize,
  format: i32,
  batch: i32,
  m: i32,
  n: i32,
  k: i32,
  transA: bool,
  transB: bool,
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
  scratchStride: i32,
  counter: usize,
  tid: i32,
  nth: i32,
): void {
  const own = scratch + <usize>tid * <usize>scratchStride;
  if (m <= DOT_M && !transA) {
    if (transB) {
      dotRows(a, b, c, bias, format, batch, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, bGroup, alpha, accumulate, own, counter, nth);
      return;
    }
    if (format == F32) {
      axpyRows(a, b, c, bias, batch, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, bGroup, alpha, accumulate, tid, nth);
      return;
    }
  }
  const pa = own;
  const pb = own + ((<usize>MC * <usize>KC) << 2);
  const tmp = pb + ((<usize>NC * <usize>KC) << 2);
  const nBlocks = (n + NC - 1) / NC;
  const mBlocks = (m + MC - 1) / MC;
  // Row chunks per (batch, column block): enough items to keep every thread busy (does not change results).
  const perBatch = batch * nBlocks;
  const mChunks = min(mBlocks, max(1, (2 * nth + perBatch - 1) / perBatch));
  const items = perBatch * mChunks;
  for (;;) {
    const item = atomic.add<i32>(counter, 1);
    if (item >= items) break;
    const q = item % mChunks;
    const jb = (item / mChunks) % nBlocks;
    const bi = item / (mChunks * nBlocks);
    const j0 = jb * NC;
    const nc = min(NC, n - j0);
    const iBeg = split(mBlocks, q, mChunks) * MC;
    const iEnd = min(m, split(mBlocks, q + 1, mChunks) * MC);
    const aBase = a + ((<usize>bi * <usize>strideA) << 2);
    const bOff = <usize>(bi / bGroup) * <usize>strideB;
    const cBase = c + ((<usize>bi * <usize>strideC) << 2);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = min(KC, k - p0);
      packB(b, format, transB, ldb, bOff, n, j0, nc, p0, kc, pb, tmp);
      for (let i0 = iBeg; i0 < iEnd; i0 += MC) {
        const mc = min(MC, iEnd - i0);
        packA(aBase, transA, lda, m, i0, mc, p0, kc, pa);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const bpan = pb + ((<usize>jr * <usize>kc) << 2);
          const pbias = bias != 0 ? bias + (<usize>(j0 + jr) << 2) : 0;
          for (let ir = 0; ir < mc; ir += MR) {
            const cp = cBase + ((<usize>(i0 + ir) * <usize>ldc + <usize>(j0 + jr)) << 2);
            micro(pa + ((<usize>ir * <usize>kc) << 2), bpan, kc, cp, ldc, min(MR, mc - ir), cols, p0 == 0, alpha, accumulate, pbias);
          }
        }
      }
    }
  }
}
