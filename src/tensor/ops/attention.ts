/**
 * Scaled dot-product attention over heads, built from the GEMM and softmax kernels:
 *   scores_h = scale · Q_h·K_gᵀ  →  softmax (causal mask)  →  out_h = P_h·V_g,  g = h / (heads / kvHeads)
 * Q [T, heads·D], K and V [S, kvHeads·D] (rows of a KV cache: the first S − T positions are the past).
 * Heads are read in place through row strides, so no transposes are copied. Large score matrices are computed a
 * few heads at a time to bound memory.
 */
import { ShapeError } from "../../util/errors.js";
import type { Tensor } from "../tensor.js";
import { empty } from "../tensor.js";
import { dense, expectF32 } from "./check.js";
import { GEMM_DEFAULTS } from "./linear.js";

export interface AttentionOptions {
  heads: number;
  kvHeads: number;
  headDim: number;
  causal: boolean;
  /** Defaults to 1/√headDim. */
  scale?: number;
}

/** Bytes of scores computed at once before attention splits the heads into chunks. */
const SCORE_BUDGET = 64 * 2 ** 20;

export function attention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor {
  for (const [n, t] of [
    ["q", q],
    ["k", k],
    ["v", v],
  ] as const)
    expectF32("attention", n, t);
  const { heads, kvHeads, headDim: d } = o;
  if (heads % kvHeads !== 0) throw new ShapeError(`attention: ${heads} heads not divisible by ${kvHeads} KV heads`);
  const t = q.numel / (heads * d);
  const s = k.numel / (kvHeads * d);
  if (q.dim(-1) !== heads * d || k.dim(-1) !== kvHeads * d || v.dim(-1) !== kvHeads * d || v.numel !== k.numel)
    throw new ShapeError(
      `attention: q [${q.shape}], k [${k.shape}], v [${v.shape}] do not fit ${heads} heads, ${kvHeads} KV heads of ${d}`,
    );
  if (o.causal && s < t) throw new ShapeError(`attention: ${t} queries but only ${s} keys`);
  const be = q.backend;
  const qd = dense(q);
  const kd = dense(k);
  const vd = dense(v);
  const out = empty(be, "f32", [...q.shape.slice(0, -1), heads * d]);
  const group = heads / kvHeads;
  // Heads per chunk: a multiple of the group so each chunk starts on a KV head boundary.
  const perHead = t * s * 4;
  const chunk = Math.max(group, Math.floor(SCORE_BUDGET / perHead / group) * group);
  const hc = Math.min(heads, chunk);
  const scores = empty(be, "f32", [hc, t, s]);
  const probs = empty(be, "f32", [hc, t, s]);
  for (let h0 = 0; h0 < heads; h0 += hc) {
    const nh = Math.min(hc, heads - h0);
    const g0 = h0 / group;
    be.gemm({
      ...GEMM_DEFAULTS,
      a: qd.ptr + h0 * d * 4,
      b: kd.ptr + g0 * d * 4,
      c: scores.ptr,
      batch: nh,
      m: t,
      n: s,
      k: d,
      transB: true,
      lda: heads * d,
      ldb: kvHeads * d,
      ldc: s,
      strideA: d,
      strideB: d,
      strideC: t * s,
      bGroup: group,
      alpha: o.scale ?? 1 / Math.sqrt(d),
    });
    be.softmax(scores.ptr, probs.ptr, nh * t, s, o.causal ? t : 0, s - t);
    be.gemm({
      ...GEMM_DEFAULTS,
      a: probs.ptr,
      b: vd.ptr + g0 * d * 4,
      c: out.ptr + h0 * d * 4,
      batch: nh,
      m: t,
      n: d,
      k: s,
      lda: s,
      ldb: kvHeads * d,
      ldc: heads * d,
      strideA: t * s,
      strideB: d,
      strideC: d,
      bGroup: group,
    });
  }
  scores.dispose();
  probs.dispose();
  for (const [x, xd] of [
    [q, qd],
    [k, kd],
    [v, vd],
  ] as const)
    if (xd !== x) xd.dispose();
  return out;
}
