// linearQuantGemm: Backend.linearQuant for many activation rows (prefill, the vision tower): q8/q4 weights
// [n, k] × q8 activation blocks, out[i, j] = Σ_blocks d_w·d_x·Σ q_w·q_x (+ bias), the integer products GGUF
// runs for prompts. linearQuant (linearquant.ts) streams each weight row past four activation rows and reuses
// nothing; here a register tile (four activation rows × four weight rows, eight for q4 on relaxed builds) uses each
// weight vector it loads for four rows, and a weight panel (four rows, all k) is reused for every activation row
// of a pass while it sits in L1/L2, so the time goes to the integer products, not to loading and unpacking weights.
//
// The panel interleaves its four rows so that one integer dot product yields one lane per weight row and no
// horizontal sums are needed (the scheme of an f32 GEMM microkernel: a broadcast activation × a vector of weight
// rows). Two layouts, per block of 32, after the rows' four f16 scales as f32x4:
// - pairs (q8 on every build, q4 on plain SIMD128): 16 vectors of i16, vector s = [(w_r[2s], w_r[2s+1])], r =
//   0..3; the activations, widened to i16 per pass, give (x[2s], x[2s+1]) as one 32-bit broadcast, and
//   i32x4.dot_i16x8_s adds the pair's two products per lane. q4 is widened as nibble − 8.
// - quads (q4 on relaxed builds): 8 vectors of bytes, vector s = [w_r[4s..4s+3]] as unsigned nibbles 0..15,
//   against the activations' raw quants x[4s..4s+3] broadcast: i16x8.relaxed_dot_i8x16_i7x16_s (the nibbles
//   are its 7-bit operand: exact on every implementation, checked at startup) adds products in pairs into i16
//   lanes, eight steps are summed in i16 (|·| ≤ 8·2·15·128 = 30720), and one dot with ones makes them i32;
//   −8·Σq_x corrects the unsigned nibbles. (q8 weights can be −128, outside the 7-bit range: pairs.)
// Per block and tile row, the block's integer sums [Σ₀ Σ₁ Σ₂ Σ₃] are converted, multiplied by d_w·d_x and
// accumulated: every output is its own row pair's sum in block order, the same for any tile or thread.
//
// Work items are (pass of up to MC activation rows, NC weight rows), pass-major, taken from an atomic counter.
// A thread prepares a pass's activations (scales as f32, 8·Σq for q4, i16 quants for pairs) when it first takes
// one of its items; it builds each four-row panel once per item and walks it with every tile of the pass.
import { f16ToF32, loadU16, madd, storePartial, transpose4 } from "./common";
import { Q4, Q4_BYTES, Q4X4, Q8_BYTES } from "./formats";

/** Activation rows per tile and weight rows per panel (the 4×4 register tile). */
const MR: i32 = 4;
const NR: i32 = 4;
/** Weight rows per work item. */
const NC: i32 = 64;
/** Activation rows per pass, at most; fewer for long rows, so a pass's data stays within ~192 KiB (L2). */
const MC_MAX: i32 = 64;
const PASS_BYTES: i32 = 192 << 10;
/** Prepared bytes per activation row and block: pairs: 32 i16 quants, then (both) f32 scale, i32 8·Σq. */
const PREP_PAIRS: i32 = 64 + 8;
const PREP_QUADS: i32 = 8;
/** Panel bytes per block: four f32 scales, then 16 vectors of i16 pairs or 8 vectors of nibble quads. */
const PANEL_PAIRS: i32 = 16 + 256;
const PANEL_QUADS: i32 = 16 + 128;
/** Scratch head: bias padding (32 bytes), three constants, 64 bytes for preparePanel's transposes. */
const CONSTS: i32 = 160;

/** Activation rows per pass for blocks of `stride` prepared bytes (and 34 bytes of q8 read per block). */
@inline
function passRows(nb: i32, stride: i32): i32 {
  return max(MR, min(MC_MAX, PASS_BYTES / max(1, nb * max(stride, Q8_BYTES))) & ~(MR - 1));
}

/** Per-thread scratch bytes linearQuantGemm needs for rows of k inputs. */
export function linearQuantGemmScratch(k: i32): i32 {
  const nb = k >> 5;
  const prep = max(passRows(nb, PREP_PAIRS) * PREP_PAIRS, passRows(nb, PREP_QUADS) * PREP_QUADS);
  return CONSTS + nb * (prep + max(PANEL_PAIRS, 2 * PANEL_QUADS));
}

/** Whether this build and format take the quad layout. */
@inline
function useQuads(isQ4: bool): bool {
  if (ASC_FEATURE_RELAXED_SIMD) return isQ4;
  return false;
}

/** Prepares `rows` activation rows at xq (q8 blocks): per block [i16 quants (pairs)] f32 scale, i32 8·Σq. */
function prepActivations(xq: usize, rows: i32, nb: i32, prep: usize, pairs: bool): void {
  const stride = <usize>(pairs ? PREP_PAIRS : PREP_QUADS);
  const head = <usize>(pairs ? 64 : 0);
  let d = prep;
  let blk = xq;
  for (let i = 0; i < rows * nb; i++, d += stride, blk += <usize>Q8_BYTES) {
    const q0 = v128.load(blk, 2);
    const q1 = v128.load(blk, 18);
    if (pairs) {
      v128.store(d, i16x8.extend_low_i8x16_s(q0));
      v128.store(d, i16x8.extend_high_i8x16_s(q0), 16);
      v128.store(d, i16x8.extend_low_i8x16_s(q1), 32);
      v128.store(d, i16x8.extend_high_i8x16_s(q1), 48);
    }
    const s = i32x4.add(
      i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(q0)),
      i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(q1)),
    );
    const sum = i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
    store<f32>(d + head, f16ToF32(loadU16(blk)));
    store<i32>(d + head, sum << 3, 4);
  }
}

/** q4 block quants at q (16 bytes) → (nibble − 8) as i8 for elements 0..15 (lo) and 16..31 (hi). */
@inline
function q4Low(q: v128, m15: v128, eight: v128): v128 {
  return i8x16.sub(v128.and(q, m15), eight);
}
@inline
function q4High(q: v128, m15: v128, eight: v128): v128 {
  return i8x16.sub(v128.and(i16x8.shr_u(q, 4), m15), eight);
}

/** The pairs layout's 16 vectors of one q4 block of four rows (quant bytes a, b2, c, d) at v. */
@inline
function pairsQ4(a: v128, b2: v128, c: v128, d: v128, v: usize, m15: v128, eight: v128): void {
  const al = q4Low(a, m15, eight);
  const bl = q4Low(b2, m15, eight);
  const cl = q4Low(c, m15, eight);
  const dl = q4Low(d, m15, eight);
  const ah = q4High(a, m15, eight);
  const bh = q4High(b2, m15, eight);
  const ch = q4High(c, m15, eight);
  const dh = q4High(d, m15, eight);
  transpose4(i16x8.extend_low_i8x16_s(al), i16x8.extend_low_i8x16_s(bl), i16x8.extend_low_i8x16_s(cl), i16x8.extend_low_i8x16_s(dl), v);
  transpose4(i16x8.extend_high_i8x16_s(al), i16x8.extend_high_i8x16_s(bl), i16x8.extend_high_i8x16_s(cl), i16x8.extend_high_i8x16_s(dl), v + 64);
  transpose4(i16x8.extend_low_i8x16_s(ah), i16x8.extend_low_i8x16_s(bh), i16x8.extend_low_i8x16_s(ch), i16x8.extend_low_i8x16_s(dh), v + 128);
  transpose4(i16x8.extend_high_i8x16_s(ah), i16x8.extend_high_i8x16_s(bh), i16x8.extend_high_i8x16_s(ch), i16x8.extend_high_i8x16_s(dh), v + 192);
}

/**
 * The panel of weight rows w0..w3 (raw blocks of `bytes`), or of the q4x4 group at grp (when not 0): per block
 * the f32x4 scales, then the layout's vectors. A q4x4 block's vectors are already the quads' transpose, and
 * transpose back to rows for pairs (through `tmp`, 64 bytes).
 */
function preparePanel(w0: usize, w1: usize, w2: usize, w3: usize, grp: usize, nb: i32, isQ4: bool, quads: bool, panel: usize, tmp: usize, m15: v128, eight: v128): void {
  const bytes = <usize>(isQ4 ? Q4_BYTES : Q8_BYTES);
  const stride = <usize>(quads ? PANEL_QUADS : PANEL_PAIRS);
  let o: usize = 0;
  let p = panel;
  for (let b = 0; b < nb; b++, o += bytes, p += stride) {
    const v = p + 16;
    if (grp != 0) {
      const sc = grp + (<usize>b << 3);
      store<f32>(p, f16ToF32(loadU16(sc)));
      store<f32>(p, f16ToF32(loadU16(sc + 2)), 4);
      store<f32>(p, f16ToF32(loadU16(sc + 4)), 8);
      store<f32>(p, f16ToF32(loadU16(sc + 6)), 12);
      const q = grp + (<usize>nb << 3) + (<usize>b << 6);
      if (quads) {
        for (let t: usize = 0; t < 4; t++) {
          const x = v128.load(q + 16 * t);
          v128.store(v + 16 * t, v128.and(x, m15));
          v128.store(v + 64 + 16 * t, v128.and(i16x8.shr_u(x, 4), m15));
        }
        continue;
      }
      transpose4(v128.load(q), v128.load(q, 16), v128.load(q, 32), v128.load(q, 48), tmp);
      const a = v128.load(tmp);
      const b2 = v128.load(tmp, 16);
      const c = v128.load(tmp, 32);
      const d = v128.load(tmp, 48);
      pairsQ4(a, b2, c, d, v, m15, eight);
      continue;
    }
    store<f32>(p, f16ToF32(loadU16(w0 + o)));
    store<f32>(p, f16ToF32(loadU16(w1 + o)), 4);
    store<f32>(p, f16ToF32(loadU16(w2 + o)), 8);
    store<f32>(p, f16ToF32(loadU16(w3 + o)), 12);
    if (quads) {
      // Byte j holds element j (low nibble) and j + 16 (high): lows give vectors 0..3, highs 4..7.
      const a = v128.load(w0 + o, 2);
      const b2 = v128.load(w1 + o, 2);
      const c = v128.load(w2 + o, 2);
      const d = v128.load(w3 + o, 2);
      transpose4(v128.and(a, m15), v128.and(b2, m15), v128.and(c, m15), v128.and(d, m15), v);
      transpose4(v128.and(i16x8.shr_u(a, 4), m15), v128.and(i16x8.shr_u(b2, 4), m15), v128.and(i16x8.shr_u(c, 4), m15), v128.and(i16x8.shr_u(d, 4), m15), v + 64);
    } else if (isQ4) {
      pairsQ4(v128.load(w0 + o, 2), v128.load(w1 + o, 2), v128.load(w2 + o, 2), v128.load(w3 + o, 2), v, m15, eight);
    } else {
      for (let t: usize = 0; t < 4; t++)
        transpose4(v128.load8x8_s(w0 + o + 2 + 8 * t), v128.load8x8_s(w1 + o + 2 + 8 * t), v128.load8x8_s(w2 + o + 2 + 8 * t), v128.load8x8_s(w3 + o + 2 + 8 * t), v + 64 * t);
    }
  }
}

/** One pair step s of a block for one tile row: i += (w_s · (x[2s], x[2s+1])) per weight-row lane. */
@inline
function pairStep(acc: v128, w: v128, x16: usize, s: i32): v128 {
  const x = s == 0 ? v128.load32_splat(x16) : v128.load32_splat(x16, 4);
  return i32x4.add(acc, i32x4.dot_i16x8_s(w, x));
}

/** acc + [Σ₀ Σ₁ Σ₂ Σ₃]·d_w·d_x for one tile row's block (prepared scale at px). */
@inline
function scaleAdd(acc: v128, isum: v128, dw: v128, px: usize): v128 {
  return madd(f32x4.convert_i32x4_s(isum), f32x4.mul(dw, v128.load32_splat(px)), acc);
}

/**
 * The pairs layout's 4×4 tile: prepared activation rows p0..p3 (i16 quants, scales) × the panel's four weight
 * rows; stores the first `rows` rows' first `cols` outputs at out (row stride ldo bytes), + bias (four lanes).
 */
function tilePairs(p0: usize, p1: usize, p2: usize, p3: usize, panel: usize, nb: i32, out: usize, ldo: usize, rows: i32, cols: i32, bias: usize): void {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let po: usize = 0;
  let pq = panel;
  for (let b = 0; b < nb; b++) {
    const dw = v128.load(pq);
    let i0 = i32x4.splat(0);
    let i1 = i0;
    let i2 = i0;
    let i3 = i0;
    // Two steps per iteration with immediate offsets: unrolled further, V8 hoists every load of the block above
    // the products and spills them; one step per iteration, address arithmetic costs as much as the products.
    let vs = pq + 16;
    let xs = po;
    for (let s = 0; s < 8; s++, vs += 32, xs += 8) {
      const wa = v128.load(vs);
      i0 = pairStep(i0, wa, p0 + xs, 0);
      i1 = pairStep(i1, wa, p1 + xs, 0);
      i2 = pairStep(i2, wa, p2 + xs, 0);
      i3 = pairStep(i3, wa, p3 + xs, 0);
      const wb = v128.load(vs, 16);
      i0 = pairStep(i0, wb, p0 + xs, 1);
      i1 = pairStep(i1, wb, p1 + xs, 1);
      i2 = pairStep(i2, wb, p2 + xs, 1);
      i3 = pairStep(i3, wb, p3 + xs, 1);
    }
    a0 = scaleAdd(a0, i0, dw, p0 + po + 64);
    a1 = scaleAdd(a1, i1, dw, p1 + po + 64);
    a2 = scaleAdd(a2, i2, dw, p2 + po + 64);
    a3 = scaleAdd(a3, i3, dw, p3 + po + 64);
    po += <usize>PREP_PAIRS;
    pq += <usize>PANEL_PAIRS;
  }
  if (bias != 0) {
    const bv = v128.load(bias);
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

/**
 * The quads layout's 4×8 tile: activation rows x0..x3 (raw q8 rows; prepared scales and 8·Σq at p0..p3) × two
 * panels (weight rows 0..3 at pa, 4..7 at pb): each activation broadcast feeds two products, and the loop's
 * overhead is shared by twice the work (12 % faster than 4×4 here); stores as tilePairs, eight lanes of bias.
 */
function tileQuads(x0: usize, x1: usize, x2: usize, x3: usize, p0: usize, p1: usize, p2: usize, p3: usize, pa: usize, pb: usize, nb: i32, ones: v128, out: usize, ldo: usize, rows: i32, cols: i32, bias: usize): void {
  if (!ASC_FEATURE_RELAXED_SIMD) return;
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let b0 = a0;
  let b1 = a0;
  let b2 = a0;
  let b3 = a0;
  let xo: usize = 2;
  let po: usize = 0;
  let qa = pa;
  let qb = pb;
  for (let b = 0; b < nb; b++) {
    let h0 = i16x8.splat(0);
    let h1 = h0;
    let h2 = h0;
    let h3 = h0;
    let g0 = h0;
    let g1 = h0;
    let g2 = h0;
    let g3 = h0;
    let va = qa + 16;
    let vb = qb + 16;
    let xs = xo;
    for (let s = 0; s < 8; s++, va += 16, vb += 16, xs += 4) {
      const wa = v128.load(va);
      const wb = v128.load(vb);
      let x = v128.load32_splat(x0 + xs);
      h0 = i16x8.add(h0, i16x8.relaxed_dot_i8x16_i7x16_s(x, wa));
      g0 = i16x8.add(g0, i16x8.relaxed_dot_i8x16_i7x16_s(x, wb));
      x = v128.load32_splat(x1 + xs);
      h1 = i16x8.add(h1, i16x8.relaxed_dot_i8x16_i7x16_s(x, wa));
      g1 = i16x8.add(g1, i16x8.relaxed_dot_i8x16_i7x16_s(x, wb));
      x = v128.load32_splat(x2 + xs);
      h2 = i16x8.add(h2, i16x8.relaxed_dot_i8x16_i7x16_s(x, wa));
      g2 = i16x8.add(g2, i16x8.relaxed_dot_i8x16_i7x16_s(x, wb));
      x = v128.load32_splat(x3 + xs);
      h3 = i16x8.add(h3, i16x8.relaxed_dot_i8x16_i7x16_s(x, wa));
      g3 = i16x8.add(g3, i16x8.relaxed_dot_i8x16_i7x16_s(x, wb));
    }
    const dwa = v128.load(qa);
    const dwb = v128.load(qb);
    const s0 = v128.load32_splat(p0 + po, 4);
    const s1 = v128.load32_splat(p1 + po, 4);
    const s2 = v128.load32_splat(p2 + po, 4);
    const s3 = v128.load32_splat(p3 + po, 4);
    a0 = scaleAdd(a0, i32x4.sub(i32x4.dot_i16x8_s(h0, ones), s0), dwa, p0 + po);
    b0 = scaleAdd(b0, i32x4.sub(i32x4.dot_i16x8_s(g0, ones), s0), dwb, p0 + po);
    a1 = scaleAdd(a1, i32x4.sub(i32x4.dot_i16x8_s(h1, ones), s1), dwa, p1 + po);
    b1 = scaleAdd(b1, i32x4.sub(i32x4.dot_i16x8_s(g1, ones), s1), dwb, p1 + po);
    a2 = scaleAdd(a2, i32x4.sub(i32x4.dot_i16x8_s(h2, ones), s2), dwa, p2 + po);
    b2 = scaleAdd(b2, i32x4.sub(i32x4.dot_i16x8_s(g2, ones), s2), dwb, p2 + po);
    a3 = scaleAdd(a3, i32x4.sub(i32x4.dot_i16x8_s(h3, ones), s3), dwa, p3 + po);
    b3 = scaleAdd(b3, i32x4.sub(i32x4.dot_i16x8_s(g3, ones), s3), dwb, p3 + po);
    xo += <usize>Q8_BYTES;
    po += <usize>PREP_QUADS;
    qa += <usize>PANEL_QUADS;
    qb += <usize>PANEL_QUADS;
  }
  if (bias != 0) {
    const ba = v128.load(bias);
    const bb = v128.load(bias, 16);
    a0 = f32x4.add(a0, ba);
    a1 = f32x4.add(a1, ba);
    a2 = f32x4.add(a2, ba);
    a3 = f32x4.add(a3, ba);
    b0 = f32x4.add(b0, bb);
    b1 = f32x4.add(b1, bb);
    b2 = f32x4.add(b2, bb);
    b3 = f32x4.add(b3, bb);
  }
  const ca = min(4, cols);
  const cb = cols - 4;
  storeRow(out, a0, ca);
  if (cb > 0) storeRow(out + 16, b0, cb);
  if (rows > 1) {
    storeRow(out + ldo, a1, ca);
    if (cb > 0) storeRow(out + ldo + 16, b1, cb);
  }
  if (rows > 2) {
    storeRow(out + 2 * ldo, a2, ca);
    if (cb > 0) storeRow(out + 2 * ldo + 16, b2, cb);
  }
  if (rows > 3) {
    storeRow(out + 3 * ldo, a3, ca);
    if (cb > 0) storeRow(out + 3 * ldo + 16, b3, cb);
  }
}

export function linearQuantGemm(xq: usize, w: usize, format: i32, bias: usize, out: usize, m: i32, n: i32, k: i32, scratch: usize, scratchStride: i32, counter: usize, tid: i32, nth: i32): void {
  const own = scratch + <usize>tid * <usize>scratchStride;
  const nb = k >> 5;
  const isQ4 = format == Q4 || format == Q4X4;
  // q4x4 panels at j < 4·(n/4) are whole groups (j is a multiple of 4); the rows after stay q4.
  const x4End = format == Q4X4 ? n & ~3 : 0;
  const quads = useQuads(isQ4);
  // Vector constants live in scratch (V8 rematerialises literal constants at every use inside a loop), after
  // the 16 bytes that pad a partial panel's bias to four lanes.
  const biasPad = own;
  v128.store(own, i8x16.splat(15), 32);
  v128.store(own, i8x16.splat(8), 48);
  v128.store(own, i16x8.splat(1), 64);
  const m15 = v128.load(own, 32);
  const eight = v128.load(own, 48);
  const ones = v128.load(own, 64);
  const tmp = own + 96;
  const prepStride = quads ? PREP_QUADS : PREP_PAIRS;
  const mc = passRows(nb, prepStride);
  const prep = own + <usize>CONSTS;
  const panel = prep + <usize>mc * <usize>nb * <usize>prepStride;
  const rowBytes = <usize>nb * <usize>(isQ4 ? Q4_BYTES : Q8_BYTES);
  const xBytes = <usize>nb * <usize>Q8_BYTES;
  const prepRow = <usize>nb * <usize>prepStride;
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
      prepActivations(xq + <usize>i0 * xBytes, rows, nb, prep, !quads);
      prepared = pass;
    }
    const r0 = (item % chunks) * NC;
    const r1 = min(n, r0 + NC);
    // Quads take eight weight rows at a time (two panels), pairs four.
    const width = quads ? 2 * NR : NR;
    const panel2 = panel + <usize>nb * <usize>PANEL_QUADS;
    for (let j = r0; j < r1; j += width) {
      const cols = min(width, r1 - j);
      // A partial panel repeats its last row (its outputs are not stored).
      const w0 = w + <usize>j * rowBytes;
      const w1 = w + <usize>min(j + 1, r1 - 1) * rowBytes;
      const w2 = w + <usize>min(j + 2, r1 - 1) * rowBytes;
      const w3 = w + <usize>min(j + 3, r1 - 1) * rowBytes;
      preparePanel(w0, w1, w2, w3, j < x4End ? w0 : 0, nb, isQ4, quads, panel, tmp, m15, eight);
      if (quads) {
        const w4 = w + <usize>min(j + 4, r1 - 1) * rowBytes;
        const w5 = w + <usize>min(j + 5, r1 - 1) * rowBytes;
        const w6 = w + <usize>min(j + 6, r1 - 1) * rowBytes;
        const w7 = w + <usize>min(j + 7, r1 - 1) * rowBytes;
        preparePanel(w4, w5, w6, w7, j + 4 < x4End ? w4 : 0, nb, isQ4, quads, panel2, tmp, m15, eight);
      }
      let pb: usize = 0;
      if (bias != 0) {
        pb = bias + (<usize>j << 2);
        if (cols < width) {
          v128.store(biasPad, f32x4.splat(0));
          v128.store(biasPad, f32x4.splat(0), 16);
          for (let c = 0; c < cols; c++) store<f32>(biasPad + (<usize>c << 2), load<f32>(pb + (<usize>c << 2)));
          pb = biasPad;
        }
      }
      for (let i = 0; i < rows; i += MR) {
        const tr = min(MR, rows - i);
        // A partial tile repeats its last row likewise.
        const x0 = xq + <usize>(i0 + i) * xBytes;
        const x1 = tr > 1 ? x0 + xBytes : x0;
        const x2 = tr > 2 ? x0 + 2 * xBytes : x1;
        const x3 = tr > 3 ? x0 + 3 * xBytes : x2;
        const p0 = prep + <usize>i * prepRow;
        const p1 = tr > 1 ? p0 + prepRow : p0;
        const p2 = tr > 2 ? p0 + 2 * prepRow : p1;
        const p3 = tr > 3 ? p0 + 3 * prepRow : p2;
        const o = out + <usize>(i0 + i) * ldo + (<usize>j << 2);
        if (quads) tileQuads(x0, x1, x2, x3, p0, p1, p2, p3, panel, panel2, nb, ones, o, ldo, tr, cols, pb);
        else tilePairs(p0, p1, p2, p3, panel, nb, o, ldo, tr, cols, pb);
      }
    }
  }
}
