// linearQuant: q8/q4 weights [n, k] × q8 activations, out[i, j] = Σ_blocks d_w·d_x·Σ q_w·q_x (+ bias), the
// integer dot products of GGUF's vec_dot_q8_0_q8_0 / vec_dot_q4_0_q8_0. Decode-shaped (few rows m).
// Each thread prepares the activation rows once per call in its scratch: the quants widened to i16 (so the
// weights' i16 products take them as memory operands and they use no registers), the raw i8 quants, the
// scales in f32 and 8·Σq per block. Threads take work items (~768 KiB of weight rows, walked as four
// sequential streams as in matvec.ts) from an atomic counter; then four weight rows at a time: per block, four integer dot products, one horizontal add into
// [Σ₀ Σ₁ Σ₂ Σ₃], one multiply by the four scales d_w·d_x, one accumulate.
// q4 nibbles are taken unsigned (0..15) and corrected by −8·Σq_x; with relaxed SIMD they feed the 7-bit operand
// of i16x8.relaxed_dot_i8x16_i7x16_s (exact for 0..127 on every implementation). Vector constants are loaded
// from scratch before the loops: V8 rematerialises literal constants at every use inside a loop.
// q4x4 weights (formats.ts: Q4_0 repacked at load, four rows interleaved) are walked four groups (16 rows) at a
// time from four places of a work item, as four streams: per block, eight 4-byte activation broadcasts (shared
// by the groups) each meet a group's four rows in one product with a lane per row, so there are no horizontal
// sums and one scale widening serves four rows. Same per-block arithmetic as q4, so the same results.
import { f16ToF32, hsum4I, loadU16, madd } from "./common";
import { Q4_BYTES, Q4X4, Q8, Q8_BYTES } from "./formats";
import { chunkRows, storeOne } from "./matvec";

/** Activation rows prepared per pass. */
const QROWS: i32 = 4;
/**
 * Bytes of prepared data per activation block: i16 quants, i8 quants, f32 scale, i32 8·Σq; then for q4x4, 48
 * bytes: i8 quants, i32 8·Σq, f32 scale·2^112 (one pointer walks them).
 */
const PREP_BLOCK: i32 = 64 + 32 + 4 + 4 + 48;
const CONSTS: i32 = 96;
/**
 * q4x4 groups walked at once, each its own stream of weights: from DRAM, 4 streams ran ~25 % faster than 1 or 2
 * (more reads in flight), and 8 slower (spills, and L1 no longer holds the groups' lines).
 */
const STREAMS: i32 = 4;

/** Per-thread scratch bytes linearQuant needs for rows of k inputs. */
export function linearQuantScratch(k: i32): i32 {
  return CONSTS + 64 + QROWS * (k >> 5) * PREP_BLOCK;
}

// Offsets of one prepared row's regions, relative to the row's base.
@inline
function x8Off(nb: i32): usize {
  return <usize>nb << 6;
}
@inline
function dxOff(nb: i32): usize {
  return <usize>nb * 96;
}
@inline
function sxOff(nb: i32): usize {
  return <usize>nb * 100;
}
@inline
function x4Off(nb: i32): usize {
  return <usize>nb * 104;
}

function prepActivations(xq: usize, rows: i32, nb: i32, prep: usize): void {
  for (let i = 0; i < rows; i++) {
    const px = xq + <usize>i * <usize>nb * <usize>Q8_BYTES;
    const base = prep + <usize>i * <usize>nb * <usize>PREP_BLOCK;
    for (let b = 0; b < nb; b++) {
      const blk = px + <usize>b * <usize>Q8_BYTES;
      const q0 = v128.load(blk, 2);
      const q1 = v128.load(blk, 18);
      const x16 = base + (<usize>b << 6);
      v128.store(x16, i16x8.extend_low_i8x16_s(q0));
      v128.store(x16, i16x8.extend_high_i8x16_s(q0), 16);
      v128.store(x16, i16x8.extend_low_i8x16_s(q1), 32);
      v128.store(x16, i16x8.extend_high_i8x16_s(q1), 48);
      const x8 = base + x8Off(nb) + (<usize>b << 5);
      v128.store(x8, q0);
      v128.store(x8, q1, 16);
      const dx = f16ToF32(loadU16(blk));
      store<f32>(base + dxOff(nb) + (<usize>b << 2), dx);
      // × 2^112 is exact (|dx| < 2^16): the q4x4 kernel multiplies it by the weights' scale bits before their
      // × 2^112, one operation fewer, the same product d_w·d_x.
      const x4 = base + x4Off(nb) + <usize>b * 48;
      v128.store(x4, q0);
      v128.store(x4, q1, 16);
      store<f32>(x4, dx * reinterpret<f32>(0x77800000), 36);
      const s = i32x4.add(
        i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(q0)),
        i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(q1)),
      );
      const sum = i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
      store<i32>(base + sxOff(nb) + (<usize>b << 2), sum << 3);
      store<i32>(x4, sum << 3, 32);
    }
  }
}

/** The vector constants of the hot loops: f16 → f32 (common.ts f16x4ToF32), nibble mask, i16 ones. */
function storeConsts(p: usize): void {
  v128.store(p, i32x4.splat(0x8fffe000));
  v128.store(p, f32x4.splat(reinterpret<f32>(0x77800000)), 16);
  v128.store(p, i32x4.splat(0x7c00), 32);
  v128.store(p, i32x4.splat(0x7f800000), 48);
  v128.store(p, i8x16.splat(15), 64);
  v128.store(p, i16x8.splat(1), 80);
}

/** Σ q_w·x over a q8 block at w (quants at w+2) with x16 the block's i16 activations. */
@inline
function dotQ8(w: usize, x16: usize): v128 {
  // load8x8_s loads and widens in one instruction (x64: vpmovsxbw from memory).
  const s0 = i32x4.add(i32x4.dot_i16x8_s(v128.load8x8_s(w, 2), v128.load(x16)), i32x4.dot_i16x8_s(v128.load8x8_s(w, 10), v128.load(x16, 16)));
  const s1 = i32x4.add(i32x4.dot_i16x8_s(v128.load8x8_s(w, 18), v128.load(x16, 32)), i32x4.dot_i16x8_s(v128.load8x8_s(w, 26), v128.load(x16, 48)));
  return i32x4.add(s0, s1);
}

/** Σ n·x over a q4 block at w (nibbles n = 0..15, unsigned; the caller subtracts 8·Σx). */
@inline
function dotQ4(w: usize, x16: usize, x8: usize, m15: v128, ones: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const q = v128.load(w, 2);
    const lo = v128.and(q, m15);
    const hi = v128.and(i16x8.shr_u(q, 4), m15);
    // i16 lanes hold two products each, |·| ≤ 2·15·127: two such sums still fit.
    const p = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(x8), lo), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(x8, 16), hi));
    return i32x4.dot_i16x8_s(p, ones);
  }
  // Bytes 0..7 hold elements 0..7 (low nibbles) and 16..23 (high), bytes 8..15 elements 8..15 and 24..31;
  // widened to i16 lanes (0..255), & 0x0f0f keeps the low nibble.
  const a = v128.load8x8_u(w, 2);
  const b = v128.load8x8_u(w, 10);
  const s0 = i32x4.add(i32x4.dot_i16x8_s(v128.and(a, m15), v128.load(x16)), i32x4.dot_i16x8_s(v128.and(b, m15), v128.load(x16, 16)));
  const s1 = i32x4.add(i32x4.dot_i16x8_s(i16x8.shr_u(a, 4), v128.load(x16, 32)), i32x4.dot_i16x8_s(i16x8.shr_u(b, 4), v128.load(x16, 48)));
  return i32x4.add(s0, s1);
}

/** Four outputs (weight rows w0..w3) for one prepared activation row at `row`, as f32x4. */
@inline
function quantRow4(row: usize, w0: usize, w1: usize, w2: usize, w3: usize, nb: i32, isQ4: bool, consts: usize): v128 {
  const cMask = v128.load(consts);
  const c112 = v128.load(consts, 16);
  const c7c = v128.load(consts, 32);
  const cInf = v128.load(consts, 48);
  const m15 = v128.load(consts, 64);
  const ones = v128.load(consts, 80);
  const bytes = <usize>(isQ4 ? Q4_BYTES : Q8_BYTES);
  const x8s = row + x8Off(nb);
  const dxs = row + dxOff(nb);
  const sxs = row + sxOff(nb);
  let acc = f32x4.splat(0);
  let o: usize = 0;
  for (let b = 0; b < nb; b++, o += bytes) {
    const x16 = row + (<usize>b << 6);
    const x8 = x8s + (<usize>b << 5);
    let isum: v128;
    if (isQ4) {
      isum = hsum4I(dotQ4(w0 + o, x16, x8, m15, ones), dotQ4(w1 + o, x16, x8, m15, ones), dotQ4(w2 + o, x16, x8, m15, ones), dotQ4(w3 + o, x16, x8, m15, ones));
      isum = i32x4.sub(isum, v128.load32_splat(sxs + (<usize>b << 2)));
    } else {
      isum = hsum4I(dotQ8(w0 + o, x16), dotQ8(w1 + o, x16), dotQ8(w2 + o, x16), dotQ8(w3 + o, x16));
    }
    // The four rows' f16 scales → f32 (common.ts f16x4ToF32 with the constants in registers).
    let h = v128.load16_lane(w0 + o, i32x4.splat(0), 0);
    h = v128.load16_lane(w1 + o, h, 1);
    h = v128.load16_lane(w2 + o, h, 2);
    h = v128.load16_lane(w3 + o, h, 3);
    h = i32x4.extend_low_i16x8_s(h);
    const bits = v128.and(i32x4.shl(h, 13), cMask);
    const infNan = i32x4.eq(v128.and(h, c7c), c7c);
    const dw = v128.or(v128.andnot(f32x4.mul(bits, c112), infNan), v128.and(infNan, v128.or(bits, cInf)));
    acc = madd(f32x4.convert_i32x4_s(isum), f32x4.mul(dw, v128.load32_splat(dxs + (<usize>b << 2))), acc);
  }
  return acc;
}

/**
 * acc + one block's d_w·d_x·Σ q_w·q_x for the four rows of a q4x4 group (nibble vectors at q, f16 scales at sc)
 * against one prepared activation block (q4x4 part at px, i16 quants at x16): quantRow4's per-block arithmetic,
 * so the same bits.
 */
@inline
function groupBlock(q: usize, sc: usize, px: usize, x16: usize, acc: v128, m15: v128, ones: v128, cMask: v128): v128 {
  const v0 = v128.load(q);
  const v1 = v128.load(q, 16);
  const v2 = v128.load(q, 32);
  const v3 = v128.load(q, 48);
  let isum: v128;
  if (ASC_FEATURE_RELAXED_SIMD) {
    // Low nibbles meet activations 0..15, high ones 16..31; eight i16 sums of two products each fit in i16
    // (8·2·15·128 = 30720). Activations arrive as two loads whose lanes are broadcast by shuffles: eight
    // broadcast loads would all be hoisted to the top of the loop by V8, and spilled.
    const xa = v128.load(px);
    const xb = v128.load(px, 16);
    let h = i16x8.relaxed_dot_i8x16_i7x16_s(v128.shuffle<i32>(xa, xa, 0, 0, 0, 0), v128.and(v0, m15));
    let g = i16x8.relaxed_dot_i8x16_i7x16_s(v128.shuffle<i32>(xb, xb, 0, 0, 0, 0), v128.and(i16x8.shr_u(v0, 4), m15));
    h = i16x8.add(h, i16x8.relaxed_dot_i8x16_i7x16_s(v128.shuffle<i32>(xa, xa, 1, 1, 1, 1), v128.and(v1, m15)));
    g = i16x8.add(g, i16x8.relaxed_dot_i8x16_i7x16_s(v128.shuffle<i32>(xb, xb, 1, 1, 1, 1), v128.and(i16x8.shr_u(v1, 4), m15)));
    h = i16x8.add(h, i16x8.relaxed_dot_i8x16_i7x16_s(v128.shuffle<i32>(xa, xa, 2, 2, 2, 2), v128.and(v2, m15)));
    g = i16x8.add(g, i16x8.relaxed_dot_i8x16_i7x16_s(v128.shuffle<i32>(xb, xb, 2, 2, 2, 2), v128.and(i16x8.shr_u(v2, 4), m15)));
    h = i16x8.add(h, i16x8.relaxed_dot_i8x16_i7x16_s(v128.shuffle<i32>(xa, xa, 3, 3, 3, 3), v128.and(v3, m15)));
    g = i16x8.add(g, i16x8.relaxed_dot_i8x16_i7x16_s(v128.shuffle<i32>(xb, xb, 3, 3, 3, 3), v128.and(i16x8.shr_u(v3, 4), m15)));
    isum = i32x4.dot_i16x8_s(i16x8.add(h, g), ones);
  } else {
    // Nibbles widened to i16: lanes 0..7 hold rows 0 and 1, 8..15 rows 2 and 3; each i32 lane of the dot
    // with four broadcast i16 activations is a pair's sum, two lanes per row.
    const l0 = v128.and(v0, m15);
    const l1 = v128.and(v1, m15);
    const l2 = v128.and(v2, m15);
    const l3 = v128.and(v3, m15);
    let xs = v128.load64_splat(x16);
    let a = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(l0), xs);
    let c = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(l0), xs);
    xs = v128.load64_splat(x16, 8);
    a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(l1), xs));
    c = i32x4.add(c, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(l1), xs));
    xs = v128.load64_splat(x16, 16);
    a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(l2), xs));
    c = i32x4.add(c, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(l2), xs));
    xs = v128.load64_splat(x16, 24);
    a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(l3), xs));
    c = i32x4.add(c, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(l3), xs));
    const u0 = v128.and(i16x8.shr_u(v0, 4), m15);
    const u1 = v128.and(i16x8.shr_u(v1, 4), m15);
    const u2 = v128.and(i16x8.shr_u(v2, 4), m15);
    const u3 = v128.and(i16x8.shr_u(v3, 4), m15);
    xs = v128.load64_splat(x16, 32);
    a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(u0), xs));
    c = i32x4.add(c, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(u0), xs));
    xs = v128.load64_splat(x16, 40);
    a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(u1), xs));
    c = i32x4.add(c, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(u1), xs));
    xs = v128.load64_splat(x16, 48);
    a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(u2), xs));
    c = i32x4.add(c, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(u2), xs));
    xs = v128.load64_splat(x16, 56);
    a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(u3), xs));
    c = i32x4.add(c, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(u3), xs));
    isum = i32x4.add(v128.shuffle<i32>(a, c, 0, 2, 4, 6), v128.shuffle<i32>(a, c, 1, 3, 5, 7));
  }
  isum = i32x4.sub(isum, v128.load32_splat(px, 32));
  // The four scales' f16 bits placed in f32 fields (scales are finite: repackQ4 counts the others); × d_x·2^112
  // gives d_w·d_x exactly as quantRow4's (bits·2^112)·d_x.
  const bits = v128.and(i32x4.shl(v128.load16x4_s(sc), 13), cMask);
  return madd(f32x4.convert_i32x4_s(isum), f32x4.mul(bits, v128.load32_splat(px, 36)), acc);
}

/**
 * The outputs of GN q4x4 groups (at g0..g3, the first GN used) for one prepared activation row at `row`: the
 * groups' blocks are taken in turn, so GN streams are read at once (from DRAM, more streams keep more reads in
 * flight), each group with its own accumulator; results as f32x4 at res + 16·u.
 */
@inline
function quantGroups(row: usize, g0: usize, g1: usize, g2: usize, g3: usize, nb: i32, consts: usize, res: usize, GN: i32): void {
  const cMask = v128.load(consts);
  const m15 = v128.load(consts, 64);
  const ones = v128.load(consts, 80);
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let so: usize = 0;
  let qo = <usize>nb << 3;
  let px = row + x4Off(nb);
  let x16 = row;
  // Induction variables, not offsets recomputed per block (V8 does not hoist them).
  for (let b = 0; b < nb; b++, so += 8, qo += 64, px += 48, x16 += 64) {
    a0 = groupBlock(g0 + qo, g0 + so, px, x16, a0, m15, ones, cMask);
    if (GN > 1) a1 = groupBlock(g1 + qo, g1 + so, px, x16, a1, m15, ones, cMask);
    if (GN > 2) a2 = groupBlock(g2 + qo, g2 + so, px, x16, a2, m15, ones, cMask);
    if (GN > 3) a3 = groupBlock(g3 + qo, g3 + so, px, x16, a3, m15, ones, cMask);
  }
  v128.store(res, a0);
  if (GN > 1) v128.store(res, a1, 16);
  if (GN > 2) v128.store(res, a2, 32);
  if (GN > 3) v128.store(res, a3, 48);
}

function quantGroups1(row: usize, g0: usize, nb: i32, consts: usize, res: usize): void {
  quantGroups(row, g0, g0, g0, g0, nb, consts, res, 1);
}
function quantGroups4(row: usize, g0: usize, g1: usize, g2: usize, g3: usize, nb: i32, consts: usize, res: usize): void {
  quantGroups(row, g0, g1, g2, g3, nb, consts, res, 4);
}

/** Stores lane r of s as output row o's column j0 + r for the first `cnt` lanes (+ bias). */
@inline
function storeLanes(o: usize, j0: i32, s: v128, cnt: i32, bias: usize): void {
  const bb = bias != 0;
  storeOne(o + (<usize>j0 << 2), f32x4.extract_lane(s, 0), 1, false, bb ? bias + (<usize>j0 << 2) : 0);
  if (cnt > 1) storeOne(o + (<usize>(j0 + 1) << 2), f32x4.extract_lane(s, 1), 1, false, bb ? bias + (<usize>(j0 + 1) << 2) : 0);
  if (cnt > 2) storeOne(o + (<usize>(j0 + 2) << 2), f32x4.extract_lane(s, 2), 1, false, bb ? bias + (<usize>(j0 + 2) << 2) : 0);
  if (cnt > 3) storeOne(o + (<usize>(j0 + 3) << 2), f32x4.extract_lane(s, 3), 1, false, bb ? bias + (<usize>(j0 + 3) << 2) : 0);
}

function quantRow4Q8(row: usize, w0: usize, w1: usize, w2: usize, w3: usize, nb: i32, consts: usize): v128 {
  return quantRow4(row, w0, w1, w2, w3, nb, false, consts);
}
function quantRow4Q4(row: usize, w0: usize, w1: usize, w2: usize, w3: usize, nb: i32, consts: usize): v128 {
  return quantRow4(row, w0, w1, w2, w3, nb, true, consts);
}

export function linearQuant(xq: usize, w: usize, format: i32, bias: usize, out: usize, m: i32, n: i32, k: i32, scratch: usize, scratchStride: i32, counter: usize, tid: i32, nth: i32): void {
  const own = scratch + <usize>tid * <usize>scratchStride;
  const nb = k >> 5;
  storeConsts(own);
  const prep = own + <usize>CONSTS + 64;
  const rowBytes = <usize>nb * <usize>(format == Q8 ? Q8_BYTES : Q4_BYTES);
  const xBytes = <usize>nb * <usize>Q8_BYTES;
  const prepRow = <usize>nb * <usize>PREP_BLOCK;
  const bb = bias != 0;
  if (format == Q4X4) {
    linearQuantX4(xq, w, bias, out, m, n, nb, rowBytes, own, prep, counter, nth);
    return;
  }
  // Work items: (pass over QROWS activation rows, chunkRows weight rows), pass-major, from the atomic counter;
  // a thread prepares a pass's activations when it first takes one of its items.
  const crows = chunkRows(n, rowBytes, nth);
  const chunks = (n + crows - 1) / crows;
  const passes = (m + QROWS - 1) / QROWS;
  let prepared = -1;
  for (;;) {
    const item = atomic.add<i32>(counter, 1);
    if (item >= chunks * passes) break;
    const pass = item / chunks;
    const i0 = pass * QROWS;
    const rows = min(QROWS, m - i0);
    if (pass != prepared) {
      prepActivations(xq + <usize>i0 * xBytes, rows, nb, prep);
      prepared = pass;
    }
    // The item's rows [r0, r1) as four sequential streams of `len` rows (see matvec.ts).
    const r0 = (item % chunks) * crows;
    const r1 = min(n, r0 + crows);
    const len = (r1 - r0 + 3) >> 2;
    for (let t = 0; t < len; t++) {
      const j0 = r0 + t;
      const j1 = j0 + len;
      const j2 = j1 + len;
      const j3 = j2 + len;
      const w0 = w + <usize>j0 * rowBytes;
      const w1 = w + <usize>min(j1, r1 - 1) * rowBytes;
      const w2 = w + <usize>min(j2, r1 - 1) * rowBytes;
      const w3 = w + <usize>min(j3, r1 - 1) * rowBytes;
      for (let i = 0; i < rows; i++) {
        const row = prep + <usize>i * prepRow;
        const s = format != Q8 ? quantRow4Q4(row, w0, w1, w2, w3, nb, own) : quantRow4Q8(row, w0, w1, w2, w3, nb, own);
        const o = out + ((<usize>(i0 + i) * <usize>n) << 2);
        storeOne(o + (<usize>j0 << 2), f32x4.extract_lane(s, 0), 1, false, bb ? bias + (<usize>j0 << 2) : 0);
        if (j1 < r1) storeOne(o + (<usize>j1 << 2), f32x4.extract_lane(s, 1), 1, false, bb ? bias + (<usize>j1 << 2) : 0);
        if (j2 < r1) storeOne(o + (<usize>j2 << 2), f32x4.extract_lane(s, 2), 1, false, bb ? bias + (<usize>j2 << 2) : 0);
        if (j3 < r1) storeOne(o + (<usize>j3 << 2), f32x4.extract_lane(s, 3), 1, false, bb ? bias + (<usize>j3 << 2) : 0);
      }
    }
  }
}

/**
 * linearQuant over q4x4 weights: work items are (pass over QROWS activation rows, a run of groups), pass-major,
 * each run about CHUNK_BYTES of one stream; the last n mod 4 rows (Q4_0) are one more item of the pass.
 */
function linearQuantX4(xq: usize, w: usize, bias: usize, out: usize, m: i32, n: i32, nb: i32, rowBytes: usize, own: usize, prep: usize, counter: usize, nth: i32): void {
  const groups = n >> 2;
  const tail = n & 3;
  const groupBytes = rowBytes << 2;
  const xBytes = <usize>nb * <usize>Q8_BYTES;
  const prepRow = <usize>nb * <usize>PREP_BLOCK;
  const run = chunkRows(n, rowBytes, nth) >> 2;
  const runs = (groups + run - 1) / run;
  const items = runs + (tail != 0 ? 1 : 0);
  const passes = (m + QROWS - 1) / QROWS;
  let prepared = -1;
  for (;;) {
    const item = atomic.add<i32>(counter, 1);
    if (item >= items * passes) break;
    const pass = item / items;
    const i0 = pass * QROWS;
    const rows = min(QROWS, m - i0);
    if (pass != prepared) {
      prepActivations(xq + <usize>i0 * xBytes, rows, nb, prep);
      prepared = pass;
    }
    const it = item % items;
    if (it == runs) {
      // The Q4_0 tail: one four-row call with its last row repeated.
      const j0 = groups << 2;
      const w0 = w + <usize>j0 * rowBytes;
      const w1 = w + <usize>min(j0 + 1, n - 1) * rowBytes;
      const w2 = w + <usize>min(j0 + 2, n - 1) * rowBytes;
      for (let i = 0; i < rows; i++) {
        const s = quantRow4Q4(prep + <usize>i * prepRow, w0, w1, w2, w2, nb, own);
        storeLanes(out + ((<usize>(i0 + i) * <usize>n) << 2), j0, s, tail, bias);
      }
      continue;
    }
    // The run's groups as STREAMS sequential streams (g, g + len, …), walked together.
    const ga = it * run;
    const gb = min(groups, ga + run);
    const len = (gb - ga + STREAMS - 1) / STREAMS;
    const res = own + <usize>CONSTS;
    for (let t = 0; t < len; t++) {
      const g = ga + t;
      const full = g + (STREAMS - 1) * len < gb;
      for (let i = 0; i < rows; i++) {
        const o = out + ((<usize>(i0 + i) * <usize>n) << 2);
        const pr = prep + <usize>i * prepRow;
        if (full) {
          quantGroups4(pr, w + <usize>g * groupBytes, w + <usize>(g + len) * groupBytes, w + <usize>(g + 2 * len) * groupBytes, w + <usize>(g + 3 * len) * groupBytes, nb, own, res);
          for (let u = 0; u < STREAMS; u++) storeLanes(o, (g + u * len) << 2, v128.load(res + (<usize>u << 4)), 4, bias);
        } else {
          for (let u = 0; u < STREAMS; u++) {
            const gu = g + u * len;
            if (gu >= gb) break;
            quantGroups1(pr, w + <usize>gu * groupBytes, nb, own, res);
            storeLanes(o, gu << 2, v128.load(res), 4, bias);
          }
        }
      }
    }
  }
}
