// Attention of a few new query rows over a KV cache (the decode step), in one pass: per unit (query row i, KV
// head g), the group's query heads walk the visible cached positions in blocks of DA_BLOCK keys: the block's
// scores (f32 dot products, lanes then (0+1)+(2+3)), an online softmax (running max and sum, the accumulator
// rescaled once per block when the max grows) and the weighted sum of V rows. K/V are read as stored, f32 or f16
// (converted exactly in registers), so the cache is read once per group and step. Work is split by units, each
// computed the same way on any thread, so any thread count gives the same bits.
import { f16ToF32, f16x4ToF32k, hsum, loadU16, madd, split, storeF16Consts } from "./common";
import { F16 } from "./formats";
import { expv } from "./math";

/** Keys per block of the online softmax. */
export const DA_BLOCK: i32 = 32;

/** Per-thread scratch bytes for a group of `group` heads of `headDim`: constants, accumulators, block scores. */
export function decodeAttentionScratch(group: i32, headDim: i32): i32 {
  return 128 + group * (headDim + DA_BLOCK + 2) * 4;
}

/**
 * Eight f16 values (one v128) → two f32x4 in lo/hi order. Finite values (the cache's usual content) take three
 * operations per vector (<< 13, mask, × 2^112: exact for normals, subnormals and zeros); a vector holding an
 * Inf or NaN takes common.ts's full conversion, so every value converts exactly as the reference.
 */
@inline
function halfLo(h: v128, special: bool, cMask: v128, c112: v128, c7c: v128, cInf: v128): v128 {
  const w = i32x4.extend_low_i16x8_s(h);
  if (special) return f16x4ToF32k(w, cMask, c112, c7c, cInf);
  return f32x4.mul(v128.and(i32x4.shl(w, 13), cMask), c112);
}
@inline
function halfHi(h: v128, special: bool, cMask: v128, c112: v128, c7c: v128, cInf: v128): v128 {
  const w = i32x4.extend_high_i16x8_s(h);
  if (special) return f16x4ToF32k(w, cMask, c112, c7c, cInf);
  return f32x4.mul(v128.and(i32x4.shl(w, 13), cMask), c112);
}
/** Whether any of the eight f16 values has the all-ones exponent (Inf or NaN). */
@inline
function hasSpecial(h: v128, e16: v128): bool {
  return v128.any_true(i16x8.eq(v128.and(h, e16), e16));
}

/** Element c of a row (f32 or f16). */
@inline
function elem(p: usize, c: i32, f16: bool): f32 {
  return f16 ? f16ToF32(loadU16(p + (<usize>c << 1))) : load<f32>(p + (<usize>c << 2));
}

/**
 * [q·k0, q·k1, q·k2, q·k3] for four key rows (f32 or f16), each its own dot product in a fixed order: two
 * accumulators over 8-element steps, added, lanes summed (0+1)+(2+3), then the tail elements in order.
 * consts: storeF16Consts, then the i16 exponent mask at +64.
 */
@inline
function dot4(qp: usize, k0: usize, k1: usize, k2: usize, k3: usize, d: i32, f16: bool, consts: usize): v128 {
  const z = f32x4.splat(0);
  let a0 = z, b0 = z, a1 = z, b1 = z, a2 = z, b2 = z, a3 = z, b3 = z;
  let c = 0;
  if (f16) {
    const cMask = v128.load(consts);
    const c112 = v128.load(consts, 16);
    const c7c = v128.load(consts, 32);
    const cInf = v128.load(consts, 48);
    const e16 = v128.load(consts, 64);
    for (; c + 8 <= d; c += 8) {
      const o = <usize>c << 1;
      const h0 = v128.load(k0 + o);
      const h1 = v128.load(k1 + o);
      const h2 = v128.load(k2 + o);
      const h3 = v128.load(k3 + o);
      const sp = hasSpecial(v128.or(v128.or(h0, h1), v128.or(h2, h3)), e16);
      const x0 = v128.load(qp + (<usize>c << 2));
      const x1 = v128.load(qp + (<usize>c << 2), 16);
      a0 = madd(x0, halfLo(h0, sp, cMask, c112, c7c, cInf), a0);
      b0 = madd(x1, halfHi(h0, sp, cMask, c112, c7c, cInf), b0);
      a1 = madd(x0, halfLo(h1, sp, cMask, c112, c7c, cInf), a1);
      b1 = madd(x1, halfHi(h1, sp, cMask, c112, c7c, cInf), b1);
      a2 = madd(x0, halfLo(h2, sp, cMask, c112, c7c, cInf), a2);
      b2 = madd(x1, halfHi(h2, sp, cMask, c112, c7c, cInf), b2);
      a3 = madd(x0, halfLo(h3, sp, cMask, c112, c7c, cInf), a3);
      b3 = madd(x1, halfHi(h3, sp, cMask, c112, c7c, cInf), b3);
    }
  } else {
    for (; c + 8 <= d; c += 8) {
      const o = <usize>c << 2;
      const x0 = v128.load(qp + o);
      const x1 = v128.load(qp + o, 16);
      a0 = madd(x0, v128.load(k0 + o), a0);
      b0 = madd(x1, v128.load(k0 + o, 16), b0);
      a1 = madd(x0, v128.load(k1 + o), a1);
      b1 = madd(x1, v128.load(k1 + o, 16), b1);
      a2 = madd(x0, v128.load(k2 + o), a2);
      b2 = madd(x1, v128.load(k2 + o, 16), b2);
      a3 = madd(x0, v128.load(k3 + o), a3);
      b3 = madd(x1, v128.load(k3 + o, 16), b3);
    }
  }
  // Lanes of each row summed (0+1)+(2+3), the four rows side by side (matvec.ts finishDot4).
  const r0 = f32x4.add(a0, b0);
  const r1 = f32x4.add(a1, b1);
  const r2 = f32x4.add(a2, b2);
  const r3 = f32x4.add(a3, b3);
  const ab = f32x4.add(v128.shuffle<f32>(r0, r1, 0, 4, 2, 6), v128.shuffle<f32>(r0, r1, 1, 5, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(r2, r3, 0, 4, 2, 6), v128.shuffle<f32>(r2, r3, 1, 5, 3, 7));
  let sum = f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
  for (; c < d; c++) {
    const x = f32x4.splat(load<f32>(qp + (<usize>c << 2)));
    const kv = f32x4(elem(k0, c, f16), elem(k1, c, f16), elem(k2, c, f16), elem(k3, c, f16));
    sum = f32x4.add(sum, f32x4.mul(x, kv));
  }
  return sum;
}

/**
 * acc[0..d) += p0·v0 + p1·v1 + p2·v2 + p3·v3 (value rows f32 or f16), added in that order per element; `n` (1..4)
 * rows are real, so a row past the block is never read.
 */
@inline
function accumulate4(acc: usize, v0: usize, v1: usize, v2: usize, v3: usize, p: v128, n: i32, d: i32, f16: bool, consts: usize): void {
  const p0 = f32x4.splat(f32x4.extract_lane(p, 0));
  const p1 = f32x4.splat(f32x4.extract_lane(p, 1));
  const p2 = f32x4.splat(f32x4.extract_lane(p, 2));
  const p3 = f32x4.splat(f32x4.extract_lane(p, 3));
  let c = 0;
  if (n == 4) {
    if (f16) {
      const cMask = v128.load(consts);
      const c112 = v128.load(consts, 16);
      const c7c = v128.load(consts, 32);
      const cInf = v128.load(consts, 48);
      const e16 = v128.load(consts, 64);
      for (; c + 8 <= d; c += 8) {
        const o = <usize>c << 1;
        const h0 = v128.load(v0 + o);
        const h1 = v128.load(v1 + o);
        const h2 = v128.load(v2 + o);
        const h3 = v128.load(v3 + o);
        const sp = hasSpecial(v128.or(v128.or(h0, h1), v128.or(h2, h3)), e16);
        const a = acc + (<usize>c << 2);
        let lo = madd(p0, halfLo(h0, sp, cMask, c112, c7c, cInf), v128.load(a));
        let hi = madd(p0, halfHi(h0, sp, cMask, c112, c7c, cInf), v128.load(a, 16));
        lo = madd(p1, halfLo(h1, sp, cMask, c112, c7c, cInf), lo);
        hi = madd(p1, halfHi(h1, sp, cMask, c112, c7c, cInf), hi);
        lo = madd(p2, halfLo(h2, sp, cMask, c112, c7c, cInf), lo);
        hi = madd(p2, halfHi(h2, sp, cMask, c112, c7c, cInf), hi);
        v128.store(a, madd(p3, halfLo(h3, sp, cMask, c112, c7c, cInf), lo));
        v128.store(a, madd(p3, halfHi(h3, sp, cMask, c112, c7c, cInf), hi), 16);
      }
    } else {
      for (; c + 8 <= d; c += 8) {
        const o = <usize>c << 2;
        const a = acc + o;
        let lo = madd(p0, v128.load(v0 + o), v128.load(a));
        let hi = madd(p0, v128.load(v0 + o, 16), v128.load(a, 16));
        lo = madd(p1, v128.load(v1 + o), lo);
        hi = madd(p1, v128.load(v1 + o, 16), hi);
        lo = madd(p2, v128.load(v2 + o), lo);
        hi = madd(p2, v128.load(v2 + o, 16), hi);
        v128.store(a, madd(p3, v128.load(v3 + o), lo));
        v128.store(a, madd(p3, v128.load(v3 + o, 16), hi), 16);
      }
    }
  }
  // Tail elements (and every element of a block's last 1–3 rows) one by one, in the same order.
  const s0 = f32x4.extract_lane(p, 0);
  const s1 = f32x4.extract_lane(p, 1);
  const s2 = f32x4.extract_lane(p, 2);
  const s3 = f32x4.extract_lane(p, 3);
  for (; c < d; c++) {
    const a = acc + (<usize>c << 2);
    let x = load<f32>(a) + s0 * elem(v0, c, f16);
    if (n > 1) x += s1 * elem(v1, c, f16);
    if (n > 2) x += s2 * elem(v2, c, f16);
    if (n > 3) x += s3 * elem(v3, c, f16);
    store<f32>(a, x);
  }
}

/** Multiplies acc[0..d) by s. */
@inline
function scaleRow(acc: usize, s: f32, d: i32): void {
  const sv = f32x4.splat(s);
  let c = 0;
  for (; c + 4 <= d; c += 4) v128.store(acc + (<usize>c << 2), f32x4.mul(v128.load(acc + (<usize>c << 2)), sv));
  for (; c < d; c++) store<f32>(acc + (<usize>c << 2), load<f32>(acc + (<usize>c << 2)) * s);
}

@inline
function exp1(x: f32): f32 {
  return f32x4.extract_lane(expv(f32x4.splat(x)), 0);
}

export function decodeAttention(
  q: usize,
  k: usize,
  v: usize,
  kvFormat: i32,
  out: usize,
  t: i32,
  s: i32,
  heads: i32,
  kvHeads: i32,
  headDim: i32,
  scale: f32,
  scratch: usize,
  scratchStride: i32,
  tid: i32,
  nth: i32,
): void {
  const d = headDim;
  const group = heads / kvHeads;
  const f16 = kvFormat == F16;
  const eb: usize = f16 ? 2 : 4;
  const kvRow: usize = <usize>(kvHeads * d) * eb;
  const consts = scratch + <usize>tid * <usize>scratchStride;
  storeF16Consts(consts);
  v128.store(consts + 64, i16x8.splat(0x7c00));
  const accs = consts + 128; // group × d
  const scalev = f32x4.splat(scale);
  const scores = accs + ((<usize>(group * d)) << 2); // group × DA_BLOCK
  const stats = scores + ((<usize>(group * DA_BLOCK)) << 2); // group × (max, sum)
  const lanes = i32x4(0, 1, 2, 3);
  const u0 = split(t * kvHeads, tid, nth);
  const u1 = split(t * kvHeads, tid + 1, nth);
  for (let u = u0; u < u1; u++) {
    const i = u / kvHeads;
    const g = u % kvHeads;
    const visible = s - t + i + 1;
    const kg = k + <usize>(g * d) * eb;
    const vg = v + <usize>(g * d) * eb;
    memory.fill(accs, 0, (<usize>(group * d)) << 2);
    for (let h = 0; h < group; h++) {
      store<f32>(stats + (<usize>h << 3), -Infinity);
      store<f32>(stats + (<usize>h << 3), 0, 4);
    }
    for (let j0 = 0; j0 < visible; j0 += DA_BLOCK) {
      const nb = min(DA_BLOCK, visible - j0);
      for (let h = 0; h < group; h++) {
        const qp = q + ((<usize>((i * heads + g * group + h) * d)) << 2);
        const sc = scores + ((<usize>(h * DA_BLOCK)) << 2);
        // Scores four keys at a time (a block's last rows repeat its last key; those lanes are masked below).
        let bmaxv = f32x4.splat(-Infinity);
        for (let jj = 0; jj < nb; jj += 4) {
          const last = j0 + nb - 1;
          const k0 = kg + <usize>(j0 + jj) * kvRow;
          const k1 = kg + <usize>min(j0 + jj + 1, last) * kvRow;
          const k2 = kg + <usize>min(j0 + jj + 2, last) * kvRow;
          const k3 = kg + <usize>min(j0 + jj + 3, last) * kvRow;
          const x = f32x4.mul(dot4(qp, k0, k1, k2, k3, d, f16, consts), scalev);
          v128.store(sc + (<usize>jj << 2), x);
          bmaxv = f32x4.max(bmaxv, x); // repeated keys only repeat a real score
        }
        const bmax = max(max(f32x4.extract_lane(bmaxv, 0), f32x4.extract_lane(bmaxv, 1)), max(f32x4.extract_lane(bmaxv, 2), f32x4.extract_lane(bmaxv, 3)));
        const st = stats + (<usize>h << 3);
        const m = load<f32>(st);
        const mNew = max(m, bmax);
        const mv = f32x4.splat(mNew);
        let sumv = f32x4.splat(0);
        for (let jj = 0; jj < nb; jj += 4) {
          const p = sc + (<usize>jj << 2);
          const e = v128.and(expv(f32x4.sub(v128.load(p), mv)), i32x4.lt_s(lanes, i32x4.splat(nb - jj)));
          v128.store(p, e);
          sumv = f32x4.add(sumv, e);
        }
        const acc = accs + ((<usize>(h * d)) << 2);
        let l = load<f32>(st, 4);
        if (mNew > m && j0 > 0) {
          const corr = exp1(m - mNew);
          l *= corr;
          scaleRow(acc, corr, d);
        }
        store<f32>(st, mNew);
        store<f32>(st, l + hsum(sumv), 4);
        for (let jj = 0; jj < nb; jj += 4) {
          const n = min(4, nb - jj);
          const v0 = vg + <usize>(j0 + jj) * kvRow;
          const v1 = n > 1 ? v0 + kvRow : v0;
          const v2 = n > 2 ? v1 + kvRow : v0;
          const v3 = n > 3 ? v2 + kvRow : v0;
          accumulate4(acc, v0, v1, v2, v3, v128.load(sc + (<usize>jj << 2)), n, d, f16, consts);
        }
      }
    }
    for (let h = 0; h < group; h++) {
      const acc = accs + ((<usize>(h * d)) << 2);
      const o = out + ((<usize>((i * heads + g * group + h) * d)) << 2);
      const inv = load<f32>(stats + (<usize>h << 3), 4);
      for (let c = 0; c < d; c++) store<f32>(o + (<usize>c << 2), load<f32>(acc + (<usize>c << 2)) / inv);
    }
  }
}
