/**
 * Matrix products. `linear(x, w, b)` is y = x·Wᵀ + b with W stored [out, in] in any weight format, choosing the
 * kernel by the number of rows: few rows (decoding) take the dot-product kernels, more rows (prefill, the vision
 * tower) the GEMM. q8/q4 weights take integer products at any row count, the activations quantized to q8 blocks
 * first, as GGUF does (linearQuant); with the backend's intProducts off ($IMP_INT_PRODUCTS=0), many rows take the
 * f32 GEMM instead, which widens the weights to f32 panel by panel (the two can be compared). q4x4 weights (q4
 * repacked at load for decoding) have only the integer products.
 */
import type { GemmArgs } from "../../backend/backend.js";
import { WeightFormat } from "../../backend/backend.js";
import { isQuantized } from "../../formats/dtype.js";
import { ShapeError } from "../../util/errors.js";
import { record } from "../autograd.js";
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { empty, formatOf, zeros } from "../tensor.js";
import { dense, expectDType, expectF32, expectSameBackend, expectShape } from "./check.js";
import { cast } from "./convert.js";

/** Up to this many rows, linear() uses the dot-product kernels instead of the GEMM. */
export const SMALL_M = 4;

/** y[..., n] = x[..., k] · w[n, k]ᵀ + b[n]. */
export function linear(x: Tensor, w: Tensor, b: Tensor | null = null): Tensor {
  expectF32("linear", "x", x);
  expectDType("linear", "weight", w, ["f32", "f16", "bf16", "q8", "q4", "q4x4"]);
  expectSameBackend("linear", x, w, b);
  if (w.ndim !== 2) throw new ShapeError(`linear: weight must be 2-D [out, in], got [${w.shape}]`);
  const [n, k] = w.shape as [number, number];
  if (x.dim(-1) !== k)
    throw new ShapeError(`linear: input [${x.shape}] does not match weight [${w.shape}] (in = ${k})`);
  if (b) {
    expectF32("linear", "bias", b);
    expectShape("linear", "bias", b, [n]);
  }
  if (!w.isContiguous) throw new ShapeError("linear: weight must be contiguous");
  const m = x.numel / k;
  const be = x.backend;
  const xd = dense(x);
  const out = empty(be, "f32", [...x.shape.slice(0, -1), n]);
  const fmt = formatOf(w.dtype);
  if (isQuantized(w.dtype) && (m <= SMALL_M || be.intProducts || w.dtype === "q4x4")) {
    const xq = empty(be, "q8", [m, k]);
    be.convert(xd.ptr, WeightFormat.f32, xq.ptr, WeightFormat.q8, m * k);
    be.linearQuant(xq.ptr, w.ptr, fmt, b?.ptr ?? 0, out.ptr, m, n, k);
    xq.dispose();
  } else if (m <= SMALL_M) {
    be.linearDot(xd.ptr, w.ptr, fmt, b?.ptr ?? 0, out.ptr, m, n, k);
  } else {
    be.gemm({
      ...GEMM_DEFAULTS,
      a: xd.ptr,
      b: w.ptr,
      c: out.ptr,
      bias: b?.ptr ?? 0,
      bFormat: fmt,
      m,
      n,
      k,
      transB: true,
      lda: k,
      ldb: k,
      ldc: n,
    });
  }
  if (xd !== x) xd.dispose();
  record(out, [x, w, b], [x, w], (g, tape) => linearBackward(g, x, w, b, tape));
  return out;
}

/** ∂x = g·W, ∂W = gᵀ·x, ∂b = Σ_rows g (only for the inputs that require them). */
function linearBackward(g: Tensor, x: Tensor, w: Tensor, b: Tensor | null, tape: Tape): void {
  const [n, k] = w.shape as [number, number];
  const m = g.numel / n;
  const be = g.backend;
  const gd = dense(g);
  if (x.requiresGrad) {
    // A quantized W is widened to f32 for this product (frozen q8/q4 bases under LoRA).
    const wf = isQuantized(w.dtype) ? cast(w, "f32") : w;
    const dx = zeros(be, x.shape);
    be.gemm({
      ...GEMM_DEFAULTS,
      a: gd.ptr,
      b: wf.ptr,
      c: dx.ptr,
      bFormat: formatOf(wf.dtype),
      m,
      n: k,
      k: n,
      lda: n,
      ldb: k,
      ldc: k,
    });
    tape.accumulate(x, dx);
  }
  if (w.requiresGrad) {
    expectF32("linear backward", "trainable weight", w);
    const xd = dense(x);
    const dw = zeros(be, w.shape);
    be.gemm({
      ...GEMM_DEFAULTS,
      a: gd.ptr,
      b: xd.ptr,
      c: dw.ptr,
      m: n,
      n: k,
      k: m,
      transA: true,
      lda: n,
      ldb: k,
      ldc: k,
    });
    tape.accumulate(w, dw);
  }
  if (b?.requiresGrad) {
    const db = zeros(be, [n]);
    be.sumRows(gd.ptr, db.ptr, m, n);
    tape.accumulate(b, db);
  }
}

export const GEMM_DEFAULTS: Omit<GemmArgs, "a" | "b" | "c" | "m" | "n" | "k" | "lda" | "ldb" | "ldc"> = {
  bias: 0,
  bFormat: WeightFormat.f32,
  batch: 1,
  transA: false,
  transB: false,
  strideA: 0,
  strideB: 0,
  strideC: 0,
  bGroup: 1,
  alpha: 1,
  accumulate: false,
};

/** Plain f32 matrix product of 2-D tensors: op(a)·op(b), op = transpose when asked. */
export function matmul(
  a: Tensor,
  b: Tensor,
  opts: { transA?: boolean; transB?: boolean; alpha?: number } = {},
): Tensor {
  expectF32("matmul", "a", a);
  expectF32("matmul", "b", b);
  if (a.ndim !== 2 || b.ndim !== 2)
    throw new ShapeError(`matmul: 2-D operands expected, got [${a.shape}], [${b.shape}]`);
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const [m, k] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [k2, n] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (k !== k2)
    throw new ShapeError(
      `matmul: inner sizes differ: [${a.shape}]${transA ? "ᵀ" : ""} · [${b.shape}]${transB ? "ᵀ" : ""}`,
    );
  const ad = dense(a);
  const bd = dense(b);
  const out = empty(a.backend, "f32", [m, n]);
  a.backend.gemm({
    ...GEMM_DEFAULTS,
    a: ad.ptr,
    b: bd.ptr,
    c: out.ptr,
    m,
    n,
    k,
    transA,
    transB,
    lda: a.shape[1]!,
    ldb: b.shape[1]!,
    ldc: n,
    alpha: opts.alpha ?? 1,
  });
  if (ad !== a) ad.dispose();
  if (bd !== b) bd.dispose();
  const alpha = opts.alpha ?? 1;
  record(out, [a, b], [a, b], (g, tape) => {
    // C = α·op(A)·op(B): ∂op(A) = α·g·op(B)ᵀ, ∂op(B) = α·op(A)ᵀ·g; transposed back when A or B was.
    if (a.requiresGrad) {
      const ga = transA
        ? matmul(b, g, { transA: transB, transB: true, alpha })
        : matmul(g, b, { transB: !transB, alpha });
      tape.accumulate(a, ga);
    }
    if (b.requiresGrad) {
      const gb = transB
        ? matmul(g, a, { transA: true, transB: transA, alpha })
        : matmul(a, g, { transA: !transA, alpha });
      tape.accumulate(b, gb);
    }
  });
  return out;
}
