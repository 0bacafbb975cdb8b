// linearQuantGemm: Backend.linearQuant for many activation rows (prefill, the vision tower): q8/q4 weights
// [n, k] × q8 activation blocks, out[i, j] = Σ_blocks d_w·d_x·Σ q_w·q_x (+ bias), the integer products GGUF
// runs for prompts. linearQuant (linearquant.ts) streams each weight row past four activation rows and reuses
// nothing; here a 4×4 register tile (four activation rows × four weight rows) uses each weight block it loads
// for four rows, and a weight panel (four rows, all k) is reused for every activation row of a pass while it
// sits in L1, so the time goes to the integer dot products rather than to loading and unpacking weights.
//
// Work items are (pass of up to MC activation rows, NC weight rows), pass-major, taken from an atomic counter.
// A thread prepares a pass's per-block activation scales (f32) and 8·Σq (q4's correction) when it first takes
// one of its items; the activation quants are read where they lie, in the q8 blocks. For each panel of four
// weight rows it writes the panel's four f16 scales per block as f32x4 and, for q4, its nibbles as unsigned
// bytes (element order, 0..15); then tiles of four activation rows walk the panel.
// Per block and tile row: four integer dot products (one per weight row), one horizontal add into
// [Σ₀ Σ₁ Σ₂ Σ₃], (q4: − 8·Σq_x), one conversion, one multiply by d_w·d_x, one accumulate: every output is its
// own row pair's sum in block order, the same for any tile or thread it lands in.
// Integer dot products: on relaxed builds q4 uses i16x8.relaxed_dot_i8x16_i7x16_s (nibbles as the 7-bit
// operand: exact on every implementation, checked at startup); otherwise operands are widened to i16 as they
// are loaded (v128.load8x8_s/_u: one instruction on x64) for i32x4.dot_i16x8_s. q8 takes the i16 path on both
// builds: its weights can be −128, outside the 7-bit operand's range.
import { f16ToF32, hsum4I, loadU16, madd, storePartial } from "./common";
import { Q4, Q4_BYTES, Q8_BYTES } from "./formats";

/** Activation rows per tile and weight rows per panel (the 4×4 register tile). */
const MR: i32 = 4;
const NR: i32 = 4;
/** Weight rows per work item. */
const NC: i32 = 64;
/** Activation rows per pass, at most; fewer for long rows, so a pass's q8 rows stay within ~192 KiB (L2). */
const MC_MAX: i32 = 64;
const PASS_BYTES: i32 = 192 << 10;
/** Prepared bytes per activation row and block: f32 scale, i32 8·Σq. */
const PREP_X: i32 = 8;
/** Panel bytes per block: four rows of 32 nibble bytes (q4), then the four scales as f32x4. */
const PANEL_Q: i32 = 128;
const PANEL_BLOCK: i32 = PANEL_Q + 16;
const CONSTS: i32 = 48;

@inline
function passRows(nb: i32): i32 {
  return max(MR, min(MC_MAX, PASS_BYTES / max(1, nb * Q8_BYTES)) & ~(MR - 1));
}

/** Per-thread scratch bytes linearQuantGemm needs for rows of k inputs. */
export function linearQuantGemmScratch(k: i32): i32 {
  const nb = k >> 5;
  return CONSTS + passRows(nb) * nb * PREP_X + nb * PANEL_BLOCK;
}

/** Scales and 8·Σq of `rows` activation rows at xq (q8 blocks) into prep (row-major, PREP_X per block). */
function prepActivations(xq: usize, rows: i32, nb: i32, prep: usize): void {
  for (let i = 0; i < rows; i++) {
    const px = xq + <usize>i * <usize>nb * <usize>Q8_BYTES;
    const base = prep + <usize>i * <usize>nb * <usize>PREP_X;
    for (let b = 0; b < nb; b++) {
      const blk = px + <usize>b * <usize>Q8_BYTES;
      const q0 = v128.load(blk, 2);
      const q1 = v128.load(blk, 18);
      const s = i32x4.add(
        i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(q0)),
        i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(q1)),
      );
      const sum = i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
      const o = base + (<usize>b << 3);
      store<f32>(o, f16ToF32(loadU16(blk)));
      store<i32>(o, sum << 3, 4);
    }
  }
}

/** The panel of weight rows w0..w3 (each `bytes` per block): f32x4 scales and, for q4, unsigned nibble bytes. */
function preparePanel(w0: usize, w1: usize, w2: usize, w3: usize, nb: i32, isQ4: bool, panel: usize, m15: v128): void {
  const bytes = <usize>(isQ4 ? Q4_BYTES : Q8_BYTES);
  let o: usize = 0;
  for (let b = 0; b < nb; b++, o += bytes) {
    const p = panel + <usize>b * <usize>PANEL_BLOCK;
    const sc = p + <usize>PANEL_Q;
    store<f32>(sc, f16ToF32(loadU16(w0 + o)));
    store<f32>(sc, f16ToF32(loadU16(w1 + o)), 4);
    store<f32>(sc, f16ToF32(loadU16(w2 + o)), 8);
    store<f32>(sc, f16ToF32(loadU16(w3 + o)), 12);
    if (isQ4) {
      // Byte j holds element j (low nibble) and element j + 16 (high).
      let q = v128.load(w0 + o, 2);
      v128.store(p, v128.and(q, m15));
      v128.store(p, v128.and(i16x8.shr_u(q, 4), m15), 16);
      q = v128.load(w1 + o, 2);
      v128.store(p, v128.and(q, m15), 32);
      v128.store(p, v128.and(i16x8.shr_u(q, 4), m15), 48);
      q = v128.load(w2 + o, 2);
      v128.store(p, v128.and(q, m15), 64);
      v128.store(p, v128.and(i16x8.shr_u(q, 4), m15), 80);
      q = v128.load(w3 + o, 2);
      v128.store(p, v128.and(q, m15), 96);
      v128.store(p, v128.and(i16x8.shr_u(q, 4), m15), 112);
    }
  }
}

/** Σ u·x over one block: u the 32 unsigned nibble bytes at u8, x the 32 quants at x8 (relaxed build only). */
@inline
function dotNibbles(u8: usize, xl: v128, xh: v128, ones: v128): v128 {
  // i16 lanes hold two products each, |·| ≤ 2·15·127: the two halves' sum still fits.
  const p = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(xl, v128.load(u8)), i16x8.relaxed_dot_i8x16_i7x16_s(xh, v128.load(u8, 16)));
  return i32x4.dot_i16x8_s(p, ones);
}

/** Σ u·x over one block with u the 32 unsigned bytes at u8, x widened to i16 in x0..x3 (plain build). */
@inline
function dotUnsigned16(u8: usize, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const s0 = i32x4.add(i32x4.dot_i16x8_s(v128.load8x8_u(u8), x0), i32x4.dot_i16x8_s(v128.load8x8_u(u8, 8), x1));
  const s1 = i32x4.add(i32x4.dot_i16x8_s(v128.load8x8_u(u8, 16), x2), i32x4.dot_i16x8_s(v128.load8x8_u(u8, 24), x3));
  return i32x4.add(s0, s1);
}

/** Σ q·x over one q8 block whose quants are at q (signed), x widened to i16 in x0..x3. */
@inline
function dotSigned16(q: usize, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const s0 = i32x4.add(i32x4.dot_i16x8_s(v128.load8x8_s(q), x0), i32x4.dot_i16x8_s(v128.load8x8_s(q, 8), x1));
  const s1 = i32x4.add(i32x4.dot_i16x8_s(v128.load8x8_s(q, 16), x2), i32x4.dot_i16x8_s(v128.load8x8_s(q, 24), x3));
  return i32x4.add(s0, s1);
}

/** [Σ_j q_wj·q_x] over one block for the four panel rows and the activation block at xb (q8, quants at +2). */
@inline
function blockSums(xb: usize, w0: usize, w1: usize, w2: usize, w3: usize, o: usize, pq: usize, isQ4: bool, ones: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (isQ4) {
      const xl = v128.load(xb, 2);
      const xh = v128.load(xb, 18);
      return hsum4I(dotNibbles(pq, xl, xh, ones), dotNibbles(pq + 32, xl, xh, ones), dotNibbles(pq + 64, xl, xh, ones), dotNibbles(pq + 96, xl, xh, ones));
    }
  }
  const x0 = v128.load8x8_s(xb, 2);
  const x1 = v128.load8x8_s(xb, 10);
  const x2 = v128.load8x8_s(xb, 18);
  const x3 = v128.load8x8_s(xb, 26);
  if (isQ4)
    return hsum4I(dotUnsigned16(pq, x0, x1, x2, x3), dotUnsigned16(pq + 32, x0, x1, x2, x3), dotUnsigned16(pq + 64, x0, x1, x2, x3), dotUnsigned16(pq + 96, x0, x1, x2, x3));
  return hsum4I(dotSigned16(w0 + o + 2, x0, x1, x2, x3), dotSigned16(w1 + o + 2, x0, x1, x2, x3), dotSigned16(w2 + o + 2, x0, x1, x2, x3), dotSigned16(w3 + o + 2, x0, x1, x2, x3));
}

/** One block's contribution to a tile row's four outputs. */
@inline
function tileRow(acc: v128, xb: usize, px: usize, w0: usize, w1: usize, w2: usize, w3: usize, o: usize, pq: usize, dw: v128, isQ4: bool, ones: v128): v128 {
  let isum = blockSums(xb, w0, w1, w2, w3, o, pq, isQ4, ones);
  if (isQ4) isum = i32x4.sub(isum, v128.load32_splat(px, 4));
  return madd(f32x4.convert_i32x4_s(isum), f32x4.mul(dw, v128.load32_splat(px)), acc);
}

/**
 * The 4×4 tile: activation rows x0..x3 (q8 rows, prepared rows p0..p3) × panel rows w0..w3 (raw rows for q8,
 * the prepared panel for q4); stores the first `rows` rows' first `cols` outputs at out (row stride ldo bytes).
 */
@inline
function tile(x0: usize, x1: usize, x2: usize, x3: usize, p0: usize, p1: usize, p2: usize, p3: usize, w0: usize, w1: usize, w2: usize, w3: usize, panel: usize, nb: i32, isQ4: bool, ones: v128, out: usize, ldo: usize, rows: i32, cols: i32, bias: usize): void {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  const bytes = <usize>(isQ4 ? Q4_BYTES : Q8_BYTES);
  let o: usize = 0;
  let xo: usize = 0;
  let po: usize = 0;
  let pq = panel;
  for (let b = 0; b < nb; b++) {
    const dw = v128.load(pq, PANEL_Q);
    a0 = tileRow(a0, x0 + xo, p0 + po, w0, w1, w2, w3, o, pq, dw, isQ4, ones);
    a1 = tileRow(a1, x1 + xo, p1 + po, w0, w1, w2, w3, o, pq, dw, isQ4, ones);
    a2 = tileRow(a2, x2 + xo, p2 + po, w0, w1, w2, w3, o, pq, dw, isQ4, ones);
    a3 = tileRow(a3, x3 + xo, p3 + po, w0, w1, w2, w3, o, pq, dw, isQ4, ones);
    o += bytes;
    xo += <usize>Q8_BYTES;
    po += <usize>PREP_X;
    pq += <usize>PANEL_BLOCK;
  }
  if (bias != 0) {
    const bv = v128.load(bias); // four lanes: the caller pads a partial panel's bias
    a0 = f32x4.add(a0, bv);
    a1 = f32x4.add(a1, bv);
    a2 = f32x4.add(a2, bv);
    a3 = f32x4.add(a3, bv);
  }
  storeRow(out, a0, cols);
  if (rows > 1) storeRow(out + ldo, a1, cols);
  if (rows > 2) storeRow(out + 2 * ldo, a2, cols);
  if (rows > 3) storeRow(out + 3 * ldo, a3, cols);
}

@inline
function storeRow(p: usize, v: v128, cols: i32): void {
  if (cols == 4) v128.store(p, v);
  else storePartial(p, v, cols);
}

function tileQ8(x0: usize, x1: usize, x2: usize, x3: usize, p0: usize, p1: usize, p2: usize, p3: usize, w0: usize, w1: usize, w2: usize, w3: usize, panel: usize, nb: i32, ones: v128, out: usize, ldo: usize, rows: i32, cols: i32, bias: usize): void {
  tile(x0, x1, x2, x3, p0, p1, p2, p3, w0, w1, w2, w3, panel, nb, false, ones, out, ldo, rows, cols, bias);
}
function tileQ4(x0: usize, x1: usize, x2: usize, x3: usize, p0: usize, p1: usize, p2: usize, p3: usize, w0: usize, w1: usize, w2: usize, w3: usize, panel: usize, nb: i32, ones: v128, out: usize, ldo: usize, rows: i32, cols: i32, bias: usize): void {
  tile(x0, x1, x2, x3, p0, p1, p2, p3, w0, w1, w2, w3, panel, nb, true, ones, out, ldo, rows, cols, bias);
}

export function linearQuantGemm(xq: usize, w: usize, format: i32, bias: usize, out: usize, m: i32, n: i32, k: i32, scratch: usize, scratchStride: i32, counter: usize, tid: i32, nth: i32): void {
  const own = scratch + <usize>tid * <usize>scratchStride;
  const nb = k >> 5;
  const isQ4 = format == Q4;
  // Vector constants live in scratch (V8 rematerialises literal constants at every use inside a loop): the
  // bias of a partial panel (padded to four lanes), then the nibble mask and i16 ones.
  const biasPad = own;
  v128.store(own, i8x16.splat(15), 16);
  v128.store(own, i16x8.splat(1), 32);
  const m15 = v128.load(own, 16);
  const ones = v128.load(own, 32);
  const mc = passRows(nb);
  const prep = own + <usize>CONSTS;
  const panel = prep + <usize>mc * <usize>nb * <usize>PREP_X;
  const rowBytes = <usize>nb * <usize>(isQ4 ? Q4_BYTES : Q8_BYTES);
  const xBytes = <usize>nb * <usize>Q8_BYTES;
  const prepRow = <usize>nb * <usize>PREP_X;
  const ldo = <usize>n << 2;
  const chunks = (n + NC - 1) / NC;
  const passes = (m + mc - 1) / mc;
  let prepared = -1;
  for (;;) {
    const item = atomic.add<i32>(counter, 1);
    if (item >= chunks * passes) break;
    const pass = item / chunks;
    const i0 = pass * mc;
    const rows = min(mc, m - i0);
    if (pass != prepared) {
      prepActivations(xq + <usize>i0 * xBytes, rows, nb, prep);
      prepared = pass;
    }
    const r0 = (item % chunks) * NC;
    const r1 = min(n, r0 + NC);
    for (let j = r0; j < r1; j += NR) {
      const cols = min(NR, r1 - j);
      // A partial panel repeats its last row (its outputs are not stored).
      const w0 = w + <usize>j * rowBytes;
      const w1 = w + <usize>min(j + 1, r1 - 1) * rowBytes;
      const w2 = w + <usize>min(j + 2, r1 - 1) * rowBytes;
      const w3 = w + <usize>min(j + 3, r1 - 1) * rowBytes;
      preparePanel(w0, w1, w2, w3, nb, isQ4, panel, m15);
      let pb: usize = 0;
      if (bias != 0) {
        pb = bias + (<usize>j << 2);
        if (cols < 4) {
          v128.store(biasPad, f32x4.splat(0));
          for (let c = 0; c < cols; c++) store<f32>(biasPad + (<usize>c << 2), load<f32>(pb + (<usize>c << 2)));
          pb = biasPad;
        }
      }
      for (let i = 0; i < rows; i += MR) {
        const tr = min(MR, rows - i);
        const x0 = xq + <usize>(i0 + i) * xBytes;
        const p0 = prep + <usize>i * prepRow;
        // A partial tile repeats its last row likewise.
        const x1 = tr > 1 ? x0 + xBytes : x0;
        const x2 = tr > 2 ? x0 + 2 * xBytes : x1;
        const x3 = tr > 3 ? x0 + 3 * xBytes : x2;
        const p1 = tr > 1 ? p0 + prepRow : p0;
        const p2 = tr > 2 ? p0 + 2 * prepRow : p1;
        const p3 = tr > 3 ? p0 + 3 * prepRow : p2;
        const o = out + <usize>(i0 + i) * ldo + (<usize>j << 2);
        if (isQ4) tileQ4(x0, x1, x2, x3, p0, p1, p2, p3, w0, w1, w2, w3, panel, nb, ones, o, ldo, tr, cols, pb);
        else tileQ8(x0, x1, x2, x3, p0, p1, p2, p3, w0, w1, w2, w3, panel, nb, ones, o, ldo, tr, cols, pb);
      }
    }
  }
}
