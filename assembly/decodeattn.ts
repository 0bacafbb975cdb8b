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
  return 64 + group * (headDim + DA_BLOCK + 2) * 4;
}

/** q[0..d) · key row kp (f32 or f16). consts: storeF16Consts. */
@inline
function dotRow(qp: usize, kp: usize, d: i32, f16: bool, consts: usize): f32 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let c = 0;
  if (f16) {
    const cMask = v128.load(consts);
    const c112 = v128.load(consts, 16);
    const c7c = v128.load(consts, 32);
    const cInf = v128.load(consts, 48);
    for (; c + 8 <= d; c += 8) {
      const h = v128.load(kp + (<usize>c << 1));
      const q = qp + (<usize>c << 2);
      a0 = madd(v128.load(q), f16x4ToF32k(i32x4.extend_low_i16x8_s(h), cMask, c112, c7c, cInf), a0);
      a1 = madd(v128.load(q, 16), f16x4ToF32k(i32x4.extend_high_i16x8_s(h), cMask, c112, c7c, cInf), a1);
    }
  } else {
    for (; c + 8 <= d; c += 8) {
      const q = qp + (<usize>c << 2);
      const k = kp + (<usize>c << 2);
      a0 = madd(v128.load(q), v128.load(k), a0);
      a1 = madd(v128.load(q, 16), v128.load(k, 16), a1);
    }
  }
  let sum = hsum(f32x4.add(a0, a1));
  for (; c < d; c++) {
    const kv = f16 ? f16ToF32(loadU16(kp + (<usize>c << 1))) : load<f32>(kp + (<usize>c << 2));
    sum += load<f32>(qp + (<usize>c << 2)) * kv;
  }
  return sum;
}

/** acc[0..d) = acc · corr + p · (value row vp), f32 or f16. */
@inline
function accumulateRow(acc: usize, vp: usize, p: f32, d: i32, f16: bool, consts: usize): void {
  const pv = f32x4.splat(p);
  let c = 0;
  if (f16) {
    const cMask = v128.load(consts);
    const c112 = v128.load(consts, 16);
    const c7c = v128.load(consts, 32);
    const cInf = v128.load(consts, 48);
    for (; c + 8 <= d; c += 8) {
      const h = v128.load(vp + (<usize>c << 1));
      const a = acc + (<usize>c << 2);
      v128.store(a, madd(pv, f16x4ToF32k(i32x4.extend_low_i16x8_s(h), cMask, c112, c7c, cInf), v128.load(a)));
      v128.store(a, madd(pv, f16x4ToF32k(i32x4.extend_high_i16x8_s(h), cMask, c112, c7c, cInf), v128.load(a, 16)), 16);
    }
  } else {
    for (; c + 8 <= d; c += 8) {
      const v = vp + (<usize>c << 2);
      const a = acc + (<usize>c << 2);
      v128.store(a, madd(pv, v128.load(v), v128.load(a)));
      v128.store(a, madd(pv, v128.load(v, 16), v128.load(a, 16)), 16);
    }
  }
  for (; c < d; c++) {
    const vv = f16 ? f16ToF32(loadU16(vp + (<usize>c << 1))) : load<f32>(vp + (<usize>c << 2));
    const a = acc + (<usize>c << 2);
    store<f32>(a, load<f32>(a) + p * vv);
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
  const accs = consts + 64; // group × d
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
        let bmax: f32 = -Infinity;
        for (let jj = 0; jj < nb; jj++) {
          const x = dotRow(qp, kg + <usize>(j0 + jj) * kvRow, d, f16, consts) * scale;
          store<f32>(sc + (<usize>jj << 2), x);
          bmax = max(bmax, x);
        }
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
        for (let jj = 0; jj < nb; jj++)
          accumulateRow(acc, vg + <usize>(j0 + jj) * kvRow, load<f32>(sc + (<usize>jj << 2)), d, f16, consts);
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
