/**
 * Scaled dot-product attention over heads, built from the GEMM and softmax kernels:
 *   scores_h = scale · Q_h·K_gᵀ  →  P_h = softmax(scores_h) (causal mask)  →  out_h = P_h·V_g,  g = h / (heads/kvHeads)
 * Q [T, heads·D], K and V [S, kvHeads·D] (rows of a KV cache: the first S − T positions are the past).
 * Heads are read in place through row strides, so no transposes are copied. Without a tape, large score
 * matrices are computed a few heads at a time to bound memory; with one, P is kept for the backward:
 *   ∂V_g += Σ_h P_hᵀ·∂O_h,  ∂P_h = ∂O_h·V_gᵀ,  ∂S_h = softmax'(P_h, ∂P_h),
 *   ∂Q_h = scale·∂S_h·K_g,  ∂K_g += scale·Σ_h ∂S_hᵀ·Q_h
 */
import type { Backend } from "../../backend/backend.js";
import { ShapeError } from "../../util/errors.js";
import { activeTape, record } from "../autograd.js";
import type { Tensor } from "../tensor.js";
import { empty, zeros } from "../tensor.js";
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

/** Bytes of scores computed at once before attention splits the heads into chunks (inference). */
const SCORE_BUDGET = 64 * 2 ** 20;

interface Dims {
  t: number;
  s: number;
  heads: number;
  kvHeads: number;
  d: number;
  group: number;
  scale: number;
  causal: boolean;
}

export function attention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor {
  for (const [n, t] of [
    ["q", q],
    ["k", k],
    ["v", v],
  ] as const)
    expectF32("attention", n, t);
  const { heads, kvHeads, headDim: d } = o;
  if (heads % kvHeads !== 0)
    throw new ShapeError(`attention: ${heads} heads not divisible by ${kvHeads} KV heads`);
  const t = q.numel / (heads * d);
  const s = k.numel / (kvHeads * d);
  if (
    q.dim(-1) !== heads * d ||
    k.dim(-1) !== kvHeads * d ||
    v.dim(-1) !== kvHeads * d ||
    v.numel !== k.numel
  )
    throw new ShapeError(
      `attention: q [${q.shape}], k [${k.shape}], v [${v.shape}] do not fit ${heads} heads, ${kvHeads} KV heads of ${d}`,
    );
  if (o.causal && s < t) throw new ShapeError(`attention: ${t} queries but only ${s} keys`);
  const dims: Dims = {
    t,
    s,
    heads,
    kvHeads,
    d,
    group: heads / kvHeads,
    scale: o.scale ?? 1 / Math.sqrt(d),
    causal: o.causal,
  };
  const be = q.backend;
  const [qd, kd, vd] = [dense(q), dense(k), dense(v)];
  const out = empty(be, "f32", [...q.shape.slice(0, -1), heads * d]);
  const training = activeTape() !== null && (q.requiresGrad || k.requiresGrad || v.requiresGrad);
  // Heads per chunk: a multiple of the group so each chunk starts on a KV head boundary.
  const chunk = training
    ? heads
    : Math.max(dims.group, Math.floor(SCORE_BUDGET / (t * s * 4) / dims.group) * dims.group);
  const hc = Math.min(heads, chunk);
  const scores = empty(be, "f32", [hc, t, s]);
  const probs = empty(be, "f32", [hc, t, s]);
  for (let h0 = 0; h0 < heads; h0 += hc)
    forwardHeads(be, dims, h0, Math.min(hc, heads - h0), qd, kd, vd, scores, probs, out);
  scores.dispose();
  for (const [x, xd] of [
    [q, qd],
    [k, kd],
    [v, vd],
  ] as const)
    if (xd !== x) xd.dispose();
  if (training)
    record(out, [q, k, v], [q, k, v, probs], (g, tape) => attentionBackward(g, q, k, v, probs, dims, tape));
  else probs.dispose();
  return out;
}

function forwardHeads(
  be: Backend,
  { t, s, heads, kvHeads, d, group, scale, causal }: Dims,
  h0: number,
  nh: number,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  scores: Tensor,
  probs: Tensor,
  out: Tensor,
): void {
  const g0 = h0 / group;
  be.gemm({
    ...GEMM_DEFAULTS,
    a: q.ptr + h0 * d * 4,
    b: k.ptr + g0 * d * 4,
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
    alpha: scale,
  });
  be.softmax(scores.ptr, probs.ptr, nh * t, s, causal ? t : 0, s - t);
  be.gemm({
    ...GEMM_DEFAULTS,
    a: probs.ptr,
    b: v.ptr + g0 * d * 4,
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

function attentionBackward(
  g: Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  probs: Tensor,
  { t, s, heads, kvHeads, d, group, scale }: Dims,
  tape: import("../tape.js").Tape,
): void {
  const be = g.backend;
  const [gd, qd, kd, vd] = [dense(g), dense(q), dense(k), dense(v)];
  const dq = zeros(be, q.shape);
  const dk = zeros(be, k.shape);
  const dv = zeros(be, v.shape);
  const dp = empty(be, "f32", [heads, t, s]);
  const ds = zeros(be, [heads, t, s]);
  // ∂P_h = ∂O_h·V_gᵀ for all heads at once.
  be.gemm({
    ...GEMM_DEFAULTS,
    a: gd.ptr,
    b: vd.ptr,
    c: dp.ptr,
    batch: heads,
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
  });
  be.softmaxBackward(probs.ptr, dp.ptr, ds.ptr, heads * t, s);
  // ∂Q_h = scale·∂S_h·K_g.
  be.gemm({
    ...GEMM_DEFAULTS,
    a: ds.ptr,
    b: kd.ptr,
    c: dq.ptr,
    batch: heads,
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
    alpha: scale,
  });
  // ∂V_g and ∂K_g sum over the group's heads: one batched product per member j (heads j, j+group, …).
  for (let j = 0; j < group; j++) {
    const common = {
      ...GEMM_DEFAULTS,
      batch: kvHeads,
      m: s,
      n: d,
      k: t,
      transA: true,
      lda: s,
      ldb: heads * d,
      ldc: kvHeads * d,
      strideA: group * t * s,
      strideB: group * d,
      strideC: d,
      accumulate: true,
    };
    be.gemm({ ...common, a: probs.ptr + j * t * s * 4, b: gd.ptr + j * d * 4, c: dv.ptr });
    be.gemm({ ...common, a: ds.ptr + j * t * s * 4, b: qd.ptr + j * d * 4, c: dk.ptr, alpha: scale });
  }
  tape.accumulate(q, dq);
  tape.accumulate(k, dk);
  tape.accumulate(v, dv);
}
