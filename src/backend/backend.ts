/**
 * The fixed op set under every model, as raw kernels over byte offsets ("pointers") into one heap.
 * Two implementations: `js` (plain TypeScript loops, the readable reference and the spec) and `wasm`
 * (WebAssembly SIMD128 on a pool of threads sharing one memory). Tensor-level code in src/tensor/ops checks
 * shapes and allocates outputs, then calls exactly one of these.
 *
 * Conventions: all activations are f32, row-major, contiguous unless a stride is passed. A pointer of 0 means
 * "absent" (an optional bias or norm weight). `...Backward` kernels ACCUMULATE (+=) into their gradient outputs,
 * as in llm.c, so the caller zeroes them once and several uses of a tensor add up. Every kernel gives the same
 * bits for any thread count: work is split by output rows/columns, never by reduction order.
 *
 * Adding an op touches a fixed set of places, listed in ./README.md.
 */
import type { Heap } from "./heap.js";

/**
 * Storage formats a weight operand (the B of a matmul, an embedding table) may have. q4x4 is q4 repacked for
 * the integer kernels (repackQ4; layout in src/formats/blocks.ts): only linearQuant and repackQ4 take it.
 */
export const WeightFormat = { f32: 0, f16: 1, bf16: 2, q8: 3, q4: 4, q4x4: 5 } as const;
export type WeightFormat = (typeof WeightFormat)[keyof typeof WeightFormat];

/** Element-wise activation functions (forward and backward). */
export const Activation = { geluErf: 0, geluTanh: 1, quickGelu: 2, silu: 3 } as const;
export type Activation = (typeof Activation)[keyof typeof Activation];

/**
 * C[i] = alpha · op(A[i]) · op(B[i/bGroup]) (+ C[i] when accumulate) + bias, for i < batch.
 * op(A) is m×k: A stored m×k with row stride lda, or (transA) k×m. op(B) is k×n: B stored k×n with row stride
 * ldb, or (transB) n×k — the layout of checkpoint weights [out, in]. A and C are f32; B may be any WeightFormat
 * (quantized B only with transB and ldb = k). Strides are in elements; bias (length n) is added once.
 */
export interface GemmArgs {
  a: number;
  b: number;
  c: number;
  bias: number;
  bFormat: WeightFormat;
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  lda: number;
  ldb: number;
  ldc: number;
  strideA: number;
  strideB: number;
  strideC: number;
  bGroup: number;
  alpha: number;
  accumulate: boolean;
}

export interface Backend {
  readonly name: "js" | "wasm";
  /** Threads a kernel is split over (1 for js). */
  readonly threads: number;
  readonly heap: Heap;
  /** Human-readable features, e.g. ["simd128", "relaxed-simd", "threads=2"]. */
  readonly features: readonly string[];
  /**
   * Whether linear() multiplies many rows (prefill, the vision tower) by q8/q4 weights with integer products,
   * the activations quantized to q8 blocks (linearQuant, as GGUF does), rather than with the f32 GEMM over
   * weights widened to f32. On by default; off ($IMP_INT_PRODUCTS=0, BackendOptions.intProducts) to compare.
   */
  intProducts: boolean;

  // ── memory and layout ────────────────────────────────────────────────────────────────────────────────
  fill(out: number, n: number, value: number): void;
  /** dst (contiguous) ← src viewed with up to 4 dims `shape` and element strides `strides`; elemBytes 1,2,4,8. */
  copyStrided(
    src: number,
    dst: number,
    elemBytes: number,
    shape: readonly number[],
    strides: readonly number[],
  ): void;
  /** Converts n values between f32/f16/bf16, quantizes f32 → q8/q4, or dequantizes q8/q4 → f32. */
  convert(src: number, srcFormat: WeightFormat, dst: number, dstFormat: WeightFormat, n: number): void;

  // ── element-wise ───────────────────────────────────────────────────────────────────────────────────
  /** out[i] = a[i] + b[i mod bn]. */
  add(a: number, b: number, out: number, n: number, bn: number): void;
  /** out[i] = a[i] · b[i mod bn]. */
  mul(a: number, b: number, out: number, n: number, bn: number): void;
  /** out[i] = s · a[i]. */
  scale(a: number, out: number, n: number, s: number): void;
  /** y[i] += alpha · x[i]. */
  axpy(y: number, x: number, n: number, alpha: number): void;
  activation(x: number, out: number, n: number, fn: Activation): void;
  activationBackward(x: number, dy: number, dx: number, n: number, fn: Activation): void;
  /** out = silu(gate) · up. */
  swiglu(gate: number, up: number, out: number, n: number): void;
  swigluBackward(gate: number, up: number, dy: number, dgate: number, dup: number, n: number): void;

  // ── reductions ─────────────────────────────────────────────────────────────────────────────────────
  /** out[c] += Σ_r x[r, c] (a bias gradient). */
  sumRows(x: number, out: number, rows: number, cols: number): void;
  /** out[r] = Σ_c x[r, c]. */
  rowSums(x: number, out: number, rows: number, cols: number): void;
  /** Σ x[i]², summed in fixed-size chunks so the result does not depend on the thread count. */
  sumSquares(x: number, n: number): number;

  // ── normalisation ──────────────────────────────────────────────────────────────────────────────────
  /** LayerNorm over the last dim; w, b optional (0). */
  layerNorm(x: number, w: number, b: number, out: number, rows: number, cols: number, eps: number): void;
  layerNormBackward(
    x: number,
    w: number,
    dy: number,
    dx: number,
    dw: number,
    db: number,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  /** RMSNorm: w · x / sqrt(mean(x²) + eps); w optional. */
  rmsNorm(x: number, w: number, out: number, rows: number, cols: number, eps: number): void;
  rmsNormBackward(
    x: number,
    w: number,
    dy: number,
    dx: number,
    dw: number,
    rows: number,
    cols: number,
    eps: number,
  ): void;

  // ── softmax, attention pieces, loss ────────────────────────────────────────────────────────────────
  /**
   * Softmax over rows of length cols. With causalT > 0, row r is query i = r mod causalT at absolute position
   * pastLen + i, and columns j > pastLen + i are masked (probability 0).
   */
  softmax(x: number, out: number, rows: number, cols: number, causalT: number, pastLen: number): void;
  /**
   * Causal attention of the last t of s positions over a KV cache (the decode step), in one pass per query row
   * and KV head: for row i (position s − t + i) and head h, with KV head g = h / (heads / kvHeads),
   *   out[i, h] = Σ_{j ≤ s − t + i} softmax_j(scale · q[i, h]·k[j, g]) · v[j, g]
   * q and out f32 [t, heads·headDim]; k and v [s, kvHeads·headDim] contiguous, in kvFormat (f32 or f16), read as
   * stored. Not the training attention (that is gemm + softmax, with a backward); this one has none.
   */
  decodeAttention(
    q: number,
    k: number,
    v: number,
    kvFormat: WeightFormat,
    out: number,
    t: number,
    s: number,
    heads: number,
    kvHeads: number,
    headDim: number,
    scale: number,
  ): void;
  /** dx += y ⊙ (dy − Σ dy ⊙ y), per row. */
  softmaxBackward(y: number, dy: number, dx: number, rows: number, cols: number): void;
  /**
   * Rotary embedding, rotate-half form, on x [T, heads, headDim] (contiguous): the first rotDim channels of each
   * head are rotated (channel j pairs with j + rotDim/2), the rest pass through. cos/sin are [T, rotDim/2].
   * inverse rotates by −angle (the backward). out may equal x.
   */
  rope(
    x: number,
    out: number,
    cos: number,
    sin: number,
    t: number,
    heads: number,
    headDim: number,
    rotDim: number,
    inverse: boolean,
  ): void;
  /** loss[r] = logsumexp(logits[r]) − logits[r, target[r]], or 0 where target[r] = ignoreIndex. */
  crossEntropy(
    logits: number,
    targets: number,
    loss: number,
    rows: number,
    vocab: number,
    ignoreIndex: number,
  ): void;
  /** dlogits[r] += scale · (softmax(logits[r]) − onehot(target[r])) for rows not ignored. */
  crossEntropyBackward(
    logits: number,
    targets: number,
    dlogits: number,
    rows: number,
    vocab: number,
    ignoreIndex: number,
    scale: number,
  ): void;

  // ── gathers ────────────────────────────────────────────────────────────────────────────────────────
  /** out[i] = table[ids[i]] (rows of length dim; table in any WeightFormat). ids are i32. */
  embedding(ids: number, table: number, tableFormat: WeightFormat, out: number, n: number, dim: number): void;
  embeddingBackward(ids: number, dy: number, dtable: number, n: number, dim: number): void;
  /** Image [C, H, W] → patches [(H/P)·(W/P), C·P·P] (row-major grid; remainder pixels dropped, as a valid conv). */
  patchify(img: number, out: number, channels: number, height: number, width: number, patch: number): void;

  // ── matrix products ────────────────────────────────────────────────────────────────────────────────
  gemm(args: GemmArgs): void;
  /** out[m, n] = x[m, :] · w[n, :] + bias[n] for few rows m: f32/f16/bf16 weights, f32 dot products. */
  linearDot(
    x: number,
    w: number,
    wFormat: WeightFormat,
    bias: number,
    out: number,
    m: number,
    n: number,
    k: number,
  ): void;
  /**
   * out[m, n] = Σ_blocks dw·dx·Σ qw·qx + bias[n]: q8/q4/q4x4 weights [n, k] with activations already quantized to q8
   * blocks (xq, as GGUF does for its integer dot products), any number of rows. One op for decoding and prefill
   * alike (the arithmetic is the same): the wasm backend streams the weights past a few rows and tiles many.
   */
  linearQuant(
    xq: number,
    w: number,
    wFormat: WeightFormat,
    bias: number,
    out: number,
    m: number,
    n: number,
    k: number,
  ): void;

  /**
   * Repacks q4 weights [n, k] at src into q4x4 at dst (or q4x4 back into q4 with `inverse`); src and dst are
   * the same bytes or disjoint. q4x4 feeds linearQuant's decode path with fewer operations per weight. Returns
   * false, with dst left as q4, when a scale is Inf or NaN (the q4x4 kernels assume finite scales).
   */
  repackQ4(src: number, dst: number, n: number, k: number, inverse?: boolean): boolean;

  /** Frees threads and memory. */
  dispose(): void;
}
