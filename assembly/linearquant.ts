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
import { f16ToF32, hsum4I, loadU16, madd } from "./common";
import { Q4, Q4_BYTES, Q8_BYTES } from "./formats";
import { chunkRows, storeOne } from "./matvec";

/** Activation rows prepared per pass. */
const QROWS: i32 = 4;
/** Bytes of prepared data per activation block: i16 quants, i8 quants, f32 scale, i32 8·Σq. */
const PREP_BLOCK: i32 = 64 + 32 + 4 + 4;
const CONSTS: i32 = 96;

/** Per-thread scratch bytes linearQuant needs for rows of k inputs. */
export function linearQuantScratch(k: i32): i32 {
  return CONSTS + QROWS * (k >> 5) * PREP_BLOCK;
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
      store<f32>(base + dxOff(nb) + (<usize>b << 2), f16ToF32(loadU16(blk)));
      const s = i32x4.add(
        i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(q0)),
        i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(q1)),
      );
      const sum = i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
      store<i32>(base + sxOff(nb) + (<usize>b << 2), sum << 3);
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
  const prep = own + <usize>CONSTS;
  const rowBytes = <usize>nb * <usize>(format == Q4 ? Q4_BYTES : Q8_BYTES);
  const xBytes = <usize>nb * <usize>Q8_BYTES;
  const prepRow = <usize>nb * <usize>PREP_BLOCK;
  const bb = bias != 0;
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
        const s = format == Q4 ? quantRow4Q4(row, w0, w1, w2, w3, nb, own) : quantRow4Q8(row, w0, w1, w2, w3, nb, own);
        const o = out + ((<usize>(i0 + i) * <usize>n) << 2);
        storeOne(o + (<usize>j0 << 2), f32x4.extract_lane(s, 0), 1, false, bb ? bias + (<usize>j0 << 2) : 0);
        if (j1 < r1) storeOne(o + (<usize>j1 << 2), f32x4.extract_lane(s, 1), 1, false, bb ? bias + (<usize>j1 << 2) : 0);
        if (j2 < r1) storeOne(o + (<usize>j2 << 2), f32x4.extract_lane(s, 2), 1, false, bb ? bias + (<usize>j2 << 2) : 0);
        if (j3 < r1) storeOne(o + (<usize>j3 << 2), f32x4.extract_lane(s, 3), 1, false, bb ? bias + (<usize>j3 << 2) : 0);
      }
    }
  }
}
