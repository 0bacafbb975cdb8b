/**
 * Scaled dot-product attention over heads, built from the GEMM and softmax kernels:
 *   scores_h = scale · Q_h·K_gᵀ  →  P_h = softmax(scores_h) (causal mask)  →  out_h = P_h·V_g,  g = h / (heads/kvHeads)
 * Q [T, heads·D], K and V [S, kvHeads·D] (rows of a KV cache: the first S − T positions are the past).
 * Heads are read in place through row strides, so no transposes are copied. Without a tape, large score
 * matrices are computed a few heads at a time to bound memory; with one, P is kept for the backward:
 *   ∂V_g += Σ_h P_hᵀ·∂O_h,  ∂P_h = ∂O_h·V_gᵀ,  ∂S_h = softmax'(P_h, ∂P_h),
 *   ∂Q_h = scale·∂S_h·K_g,  ∂K_g += scale·Σ_h ∂S_hᵀ·Q_h
 * With `segments` (training on a packed batch) the T rows are consecutive independent sequences: each attends only
 * within itself, block by block with the same products as its own call (so each block's result is the same bits),
 * runs of equal-length blocks (a batch's images) batched over blocks, a head at a time.
 */
import type { Backend } from "../../backend/backend.js";
import { ShapeError } from "../../util/errors.js";
import { activeTape, record } from "../autograd.js";
import type { Tape } from "../tape.js";
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
  /**
   * Lengths of consecutive independent sequences packed into Q, K and V (no past: S = T = their sum): each
   * attends only to itself (causal within itself when `causal`). Omitted: one sequence.
   */
  segments?: readonly number[];
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

/**
 * A run of `count` consecutive segments of `len` rows each, from row `row`; `probs` is the offset (elements) of its
 * [heads, count, len, len] probabilities in the saved buffer (head-major, so one softmax covers the run).
 */
interface Block {
  row: number;
  count: number;
  len: number;
  probs: number;
}

/** Runs of equal-length segments (each segment its own run when lengths differ: blocks of one are per-head batches). */
function blocksOf(segments: readonly number[], heads: number): Block[] {
  const blocks: Block[] = [];
  let row = 0;
  let probs = 0;
  for (let i = 0; i < segments.length; ) {
    const len = segments[i]!;
    let j = i + 1;
    while (j < segments.length && segments[j] === len) j++;
    // A run pays off only when it has more segments than there are heads (it loops over heads, not segments).
    const count = j - i > heads ? j - i : 1;
    blocks.push({ row, count, len, probs });
    row += count * len;
    probs += heads * count * len * len;
    i += count;
  }
  return blocks;
}

/**
 * Query rows t and key rows s of q [t, heads·D] and k, v [s, kvHeads·D], checked against the head counts (`op`
 * names the caller in messages): the one shape rule of attention and decodeAttention.
 */
export function headRows(
  op: string,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  { heads, kvHeads, headDim: d }: { heads: number; kvHeads: number; headDim: number },
): { t: number; s: number } {
  if (heads % kvHeads !== 0)
    throw new ShapeError(`${op}: ${heads} heads not divisible by ${kvHeads} KV heads`);
  if (
    q.dim(-1) !== heads * d ||
    k.dim(-1) !== kvHeads * d ||
    v.dim(-1) !== kvHeads * d ||
    v.numel !== k.numel
  )
    throw new ShapeError(
      `${op}: q [${q.shape}], k [${k.shape}], v [${v.shape}] do not fit ${heads} heads, ${kvHeads} KV heads of ${d}`,
    );
  return { t: q.numel / (heads * d), s: k.numel / (kvHeads * d) };
}

export function attention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor {
  for (const [n, t] of [
    ["q", q],
    ["k", k],
    ["v", v],
  ] as const)
    expectF32("attention", n, t);
  const { heads, kvHeads, headDim: d } = o;
  const { t, s } = headRows("attention", q, k, v, o);
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
  if (o.segments) {
    const total = o.segments.reduce((n, l) => n + l, 0);
    if (o.segments.some((l) => !Number.isInteger(l) || l < 1) || total !== t || s !== t)
      throw new ShapeError(
        `attention: segments [${o.segments}] must be positive lengths summing to the ${t} queries and ${s} keys`,
      );
    return segmentedAttention(q, k, v, dims, blocksOf(o.segments, heads));
  }
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
    forwardHeads(
      be,
      dims,
      h0,
      Math.min(hc, heads - h0),
      qd.ptr,
      kd.ptr,
      vd.ptr,
      scores.ptr,
      probs.ptr,
      out.ptr,
    );
  scores.dispose();
  disposeCopies([q, k, v], [qd, kd, vd]);
  if (training)
    record(out, [q, k, v], [q, k, v, probs], (g, tape) => {
      const [gd, q2, k2, v2] = [dense(g), dense(q), dense(k), dense(v)];
      const grads = [zeros(be, q.shape), zeros(be, k.shape), zeros(be, v.shape)] as const;
      const dp = empty(be, "f32", [heads, t, s]);
      const ds = zeros(be, [heads, t, s]);
      const gp = grads.map((x) => x.ptr);
      backwardHeads(be, dims, gd.ptr, q2.ptr, k2.ptr, v2.ptr, probs.ptr, dp.ptr, ds.ptr, gp);
      accumulateAll(tape, [q, k, v], grads);
    });
  else probs.dispose();
  return out;
}

/** Attention of packed independent segments (see AttentionOptions.segments); S = T. */
function segmentedAttention(q: Tensor, k: Tensor, v: Tensor, dims: Dims, blocks: readonly Block[]): Tensor {
  const be = q.backend;
  const { heads, d } = dims;
  const [qd, kd, vd] = [dense(q), dense(k), dense(v)];
  const out = empty(be, "f32", [...q.shape.slice(0, -1), heads * d]);
  const training = activeTape() !== null && (q.requiresGrad || k.requiresGrad || v.requiresGrad);
  const last = blocks[blocks.length - 1]!;
  const probsSize = last.probs + heads * last.count * last.len * last.len;
  const biggest = Math.max(...blocks.map((b) => b.count * b.len * b.len));
  // Kept for the backward when training; else each block's probabilities overwrite the last one's.
  const probs = empty(be, "f32", [training ? probsSize : heads * biggest]);
  const scores = empty(be, "f32", [heads * biggest]);
  for (const b of blocks) {
    const p = probs.ptr + (training ? b.probs : 0) * 4;
    const [qp, kp, vp, op] = rowPtrs(b.row, dims, qd.ptr, kd.ptr, vd.ptr, out.ptr);
    if (b.count === 1) forwardHeads(be, blockDims(dims, b.len), 0, heads, qp, kp, vp, scores.ptr, p, op);
    else forwardRun(be, dims, b, qp, kp, vp, scores.ptr, p, op);
  }
  scores.dispose();
  disposeCopies([q, k, v], [qd, kd, vd]);
  if (training)
    record(out, [q, k, v], [q, k, v, probs], (g, tape) => {
      const [gd, q2, k2, v2] = [dense(g), dense(q), dense(k), dense(v)];
      const grads = [zeros(be, q.shape), zeros(be, k.shape), zeros(be, v.shape)] as const;
      const dp = empty(be, "f32", [heads * biggest]);
      const ds = empty(be, "f32", [heads * biggest]);
      for (const b of blocks) {
        const [qp, kp, vp, gp] = rowPtrs(b.row, dims, q2.ptr, k2.ptr, v2.ptr, gd.ptr);
        const n = heads * b.count * b.len * b.len;
        be.fill(ds.ptr, n, 0);
        const gr = rowPtrs(b.row, dims, grads[0].ptr, grads[1].ptr, grads[2].ptr, 0);
        const p = probs.ptr + b.probs * 4;
        if (b.count === 1) backwardHeads(be, blockDims(dims, b.len), gp, qp, kp, vp, p, dp.ptr, ds.ptr, gr);
        else backwardRun(be, dims, b, gp, qp, kp, vp, p, dp.ptr, ds.ptr, gr);
      }
      accumulateAll(tape, [q, k, v], grads);
    });
  else probs.dispose();
  return out;
}

function blockDims(dims: Dims, len: number): Dims {
  return { ...dims, t: len, s: len };
}

/** Byte pointers of row `row` in a Q-shaped, a K-shaped, a V-shaped and a Q-shaped (output) buffer. */
function rowPtrs(
  row: number,
  { heads, kvHeads, d }: Dims,
  q: number,
  k: number,
  v: number,
  o: number,
): [number, number, number, number] {
  return [
    q + row * heads * d * 4,
    k + row * kvHeads * d * 4,
    v + row * kvHeads * d * 4,
    o + row * heads * d * 4,
  ];
}

/** Disposes the dense copies `ds` made of `xs` (those that are not the tensors themselves). */
export function disposeCopies(xs: readonly Tensor[], ds: readonly Tensor[]): void {
  xs.forEach((x, i) => {
    if (ds[i] !== x) ds[i]!.dispose();
  });
}

function accumulateAll(tape: Tape, xs: readonly Tensor[], grads: readonly Tensor[]): void {
  xs.forEach((x, i) => {
    tape.accumulate(x, grads[i]!);
  });
}

/** Heads h0 … h0+nh−1 of one sequence (Dims t, s), operands as byte pointers. */
function forwardHeads(
  be: Backend,
  { t, s, heads, kvHeads, d, group, scale, causal }: Dims,
  h0: number,
  nh: number,
  q: number,
  k: number,
  v: number,
  scores: number,
  probs: number,
  out: number,
): void {
  const g0 = h0 / group;
  be.gemm({
    ...GEMM_DEFAULTS,
    a: q + h0 * d * 4,
    b: k + g0 * d * 4,
    c: scores,
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
  be.softmax(scores, probs, nh * t, s, causal ? t : 0, s - t);
  be.gemm({
    ...GEMM_DEFAULTS,
    a: probs,
    b: v + g0 * d * 4,
    c: out + h0 * d * 4,
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

/**
 * A run of equal-length segments: for each head, one product batched over the segments (each the same product as
 * the segment's own call gives that head), then one softmax over the whole run.
 */
function forwardRun(
  be: Backend,
  dims: Dims,
  b: Block,
  q: number,
  k: number,
  v: number,
  scores: number,
  probs: number,
  out: number,
): void {
  runScores(be, dims, b, q, k, scores, dims.scale);
  be.softmax(scores, probs, dims.heads * b.count * b.len, b.len, dims.causal ? b.len : 0, 0);
  runMix(be, dims, b, probs, v, out, 1, false);
}

/**
 * Per head h, batched over a run's segments: out[h] = alpha · X_h · Y_gᵀ ([len, len] per segment), X with the
 * queries' row layout, Y the keys' (g = h's KV head). Scores from Q and K, and ∂P from ∂O and V.
 */
function runScores(
  be: Backend,
  { heads, kvHeads, d, group }: Dims,
  { count, len }: Block,
  x: number,
  y: number,
  out: number,
  alpha: number,
): void {
  const sq = len * len;
  for (let h = 0; h < heads; h++) {
    const g = Math.floor(h / group);
    be.gemm({
      ...GEMM_DEFAULTS,
      a: x + h * d * 4,
      b: y + g * d * 4,
      c: out + h * count * sq * 4,
      batch: count,
      m: len,
      n: len,
      k: d,
      transB: true,
      lda: heads * d,
      ldb: kvHeads * d,
      ldc: len,
      strideA: len * heads * d,
      strideB: len * kvHeads * d,
      strideC: sq,
      alpha,
    });
  }
}

/**
 * Per head h, batched over a run's segments: out_h (+)= alpha · P_h · Y_g, P the [len, len] matrices runScores
 * writes, Y with the keys' row layout, out with the queries'. The output from P and V, and ∂Q from ∂S and K.
 */
function runMix(
  be: Backend,
  { heads, kvHeads, d, group }: Dims,
  { count, len }: Block,
  p: number,
  y: number,
  out: number,
  alpha: number,
  accumulate: boolean,
): void {
  const sq = len * len;
  for (let h = 0; h < heads; h++) {
    const g = Math.floor(h / group);
    be.gemm({
      ...GEMM_DEFAULTS,
      a: p + h * count * sq * 4,
      b: y + g * d * 4,
      c: out + h * d * 4,
      batch: count,
      m: len,
      n: d,
      k: len,
      lda: len,
      ldb: kvHeads * d,
      ldc: heads * d,
      strideA: sq,
      strideB: len * kvHeads * d,
      strideC: len * heads * d,
      alpha,
      accumulate,
    });
  }
}

/** The backward of forwardHeads over all heads; ds must be zero; dq/dk/dv accumulate. */
function backwardHeads(
  be: Backend,
  { t, s, heads, kvHeads, d, group, scale }: Dims,
  g: number,
  q: number,
  k: number,
  v: number,
  probs: number,
  dp: number,
  ds: number,
  [dqp, dkp, dvp]: readonly number[],
): void {
  // ∂P_h = ∂O_h·V_gᵀ for all heads at once.
  be.gemm({
    ...GEMM_DEFAULTS,
    a: g,
    b: v,
    c: dp,
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
  be.softmaxBackward(probs, dp, ds, heads * t, s);
  // ∂Q_h = scale·∂S_h·K_g.
  be.gemm({
    ...GEMM_DEFAULTS,
    a: ds,
    b: k,
    c: dqp!,
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
    accumulate: true,
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
    be.gemm({ ...common, a: probs + j * t * s * 4, b: g + j * d * 4, c: dvp! });
    be.gemm({ ...common, a: ds + j * t * s * 4, b: q + j * d * 4, c: dkp!, alpha: scale });
  }
}

/** The backward of forwardRun (the same products as backwardHeads gives each segment, batched over segments). */
function backwardRun(
  be: Backend,
  dims: Dims,
  b: Block,
  g: number,
  q: number,
  k: number,
  v: number,
  probs: number,
  dp: number,
  ds: number,
  [dq, dk, dv]: readonly number[],
): void {
  const { heads, kvHeads, d, group, scale } = dims;
  const { count, len } = b;
  const sq = len * len;
  runScores(be, dims, b, g, v, dp, 1);
  be.softmaxBackward(probs, dp, ds, heads * count * len, len);
  runMix(be, dims, b, ds, k, dq!, scale, true);
  // Per KV head, its group's heads in order j = 0 … group−1, as backwardHeads sums them.
  for (let h = 0; h < heads; h++) {
    const kv = Math.floor(h / group);
    const common = {
      ...GEMM_DEFAULTS,
      batch: count,
      m: len,
      n: d,
      k: len,
      transA: true,
      lda: len,
      ldb: heads * d,
      ldc: kvHeads * d,
      strideA: sq,
      strideB: len * heads * d,
      strideC: len * kvHeads * d,
      accumulate: true,
    };
    be.gemm({ ...common, a: probs + h * count * sq * 4, b: g + h * d * 4, c: dv! + kv * d * 4 });
    be.gemm({ ...common, a: ds + h * count * sq * 4, b: q + h * d * 4, c: dk! + kv * d * 4, alpha: scale });
  }
}
