/**
 * Every backward kernel against central finite differences of its forward, all in float64 (the js kernels are
 * written over Float32Array | Float64Array). L = Σ dy ⊙ f(x); dL/dx from the backward must match
 * (L(x + h) − L(x − h)) / 2h to 1e-6 relative.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../../util/random.js";
import { Activation } from "../backend.js";
import * as act from "./activations.js";
import type { FloatArray } from "./arrays.js";
import * as gather from "./gather.js";
import * as mm from "./matmul.js";
import * as norms from "./norms.js";
import * as reduce from "./reduce.js";
import { rope } from "./rope.js";
import * as sm from "./softmax.js";

const rng = new Rng(7);
const TOL = 1e-6;

function randn(n: number, s = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * s;
  return a;
}

/** Checks analytic gradients of L(inputs) = Σ dy ⊙ forward(inputs) for each named input. */
function gradCheck(
  inputs: Record<string, Float64Array>,
  forward: (inp: Record<string, Float64Array>) => Float64Array,
  analytic: Record<string, Float64Array>,
  dy: Float64Array,
): void {
  const loss = () => {
    const y = forward(inputs);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * dy[i]!;
    return s;
  };
  for (const [name, g] of Object.entries(analytic)) {
    const x = inputs[name]!;
    for (let i = 0; i < x.length; i++) {
      const orig = x[i]!;
      const h = 1e-6 * Math.max(1, Math.abs(orig));
      x[i] = orig + h;
      const lp = loss();
      x[i] = orig - h;
      const lm = loss();
      x[i] = orig;
      const num = (lp - lm) / (2 * h);
      const err = Math.abs(num - g[i]!) / Math.max(1, Math.abs(num));
      assert.ok(err <= TOL, `d/d${name}[${i}]: numeric ${num}, analytic ${g[i]}, rel err ${err}`);
    }
  }
}

describe("backward kernels match finite differences (float64)", () => {
  for (const [fn, label] of [
    [Activation.geluErf, "gelu erf"],
    [Activation.geluTanh, "gelu tanh"],
    [Activation.quickGelu, "quick gelu"],
    [Activation.silu, "silu"],
  ] as const) {
    test(`activation ${label}`, () => {
      const n = 41;
      const x = randn(n, 3);
      x[0] = 0;
      x[1] = 5.5; // erf switches from series to continued fraction at |x|/√2 = 2
      const dy = randn(n);
      const dx = new Float64Array(n);
      act.activationBackward(x, dy, dx, n, fn);
      gradCheck(
        { x },
        (i) => {
          const y = new Float64Array(n);
          act.activation(i.x!, y, n, fn);
          return y;
        },
        { x: dx },
        dy,
      );
    });
  }

  test("erf matches known values", () => {
    const known: Array<[number, number]> = [
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [2.5, 0.999593047982555],
      [3.5, 0.9999992569016276],
      [-1.3, -0.9340079449406524],
    ];
    for (const [x, v] of known)
      assert.ok(Math.abs(act.erf(x) - v) < 1e-15, `erf(${x}) = ${act.erf(x)} ≠ ${v}`);
  });

  test("swiglu", () => {
    const n = 29;
    const g = randn(n, 2);
    const u = randn(n);
    const dy = randn(n);
    const dg = new Float64Array(n);
    const du = new Float64Array(n);
    act.swigluBackward(g, u, dy, dg, du, n);
    gradCheck(
      { g, u },
      (i) => {
        const y = new Float64Array(n);
        act.swiglu(i.g!, i.u!, y, n);
        return y;
      },
      { g: dg, u: du },
      dy,
    );
  });

  test("layerNorm (x, w, b)", () => {
    const [rows, cols] = [3, 11];
    const x = randn(rows * cols, 2);
    const w = randn(cols);
    const b = randn(cols);
    const dy = randn(rows * cols);
    const dx = new Float64Array(rows * cols);
    const dw = new Float64Array(cols);
    const db = new Float64Array(cols);
    norms.layerNormBackward(x, w, dy, dx, dw, db, rows, cols, 1e-5);
    gradCheck(
      { x, w, b },
      (i) => {
        const y = new Float64Array(rows * cols);
        norms.layerNorm(i.x!, i.w!, i.b!, y, rows, cols, 1e-5);
        return y;
      },
      { x: dx, w: dw, b: db },
      dy,
    );
  });

  test("rmsNorm (x, w)", () => {
    const [rows, cols] = [4, 9];
    const x = randn(rows * cols, 2);
    const w = randn(cols);
    const dy = randn(rows * cols);
    const dx = new Float64Array(rows * cols);
    const dw = new Float64Array(cols);
    norms.rmsNormBackward(x, w, dy, dx, dw, rows, cols, 1e-6);
    gradCheck(
      { x, w },
      (i) => {
        const y = new Float64Array(rows * cols);
        norms.rmsNorm(i.x!, i.w!, y, rows, cols, 1e-6);
        return y;
      },
      { x: dx, w: dw },
      dy,
    );
  });

  test("softmax (plain and causal)", () => {
    const [rows, cols] = [6, 7];
    for (const [causalT, past] of [
      [0, 0],
      [3, 2],
    ] as const) {
      const x = randn(rows * cols, 2);
      const dy = randn(rows * cols);
      const y = new Float64Array(rows * cols);
      sm.softmax(x, y, rows, cols, causalT, past);
      const dx = new Float64Array(rows * cols);
      sm.softmaxBackward(y, dy, dx, rows, cols);
      gradCheck(
        { x },
        (i) => {
          const out = new Float64Array(rows * cols);
          sm.softmax(i.x!, out, rows, cols, causalT, past);
          return out;
        },
        { x: dx },
        dy,
      );
    }
  });

  test("crossEntropy with ignored rows", () => {
    const [rows, vocab] = [5, 13];
    const logits = randn(rows * vocab, 3);
    const targets = new Int32Array([4, -100, 0, 12, 7]);
    const dy = randn(rows);
    // L = Σ dy[r] · loss[r]; the backward with scale s computes s·∂loss/∂logits, so pass dy per row.
    const d = new Float64Array(rows * vocab);
    for (let r = 0; r < rows; r++) {
      const one = new Float64Array(vocab);
      sm.crossEntropyBackward(
        logits.subarray(r * vocab, (r + 1) * vocab),
        targets.subarray(r, r + 1),
        one,
        1,
        vocab,
        -100,
        dy[r]!,
      );
      d.set(one, r * vocab);
    }
    for (let c = 0; c < vocab; c++) assert.equal(d[vocab + c], 0, "ignored row has no gradient");
    gradCheck(
      { logits },
      (i) => {
        const loss = new Float64Array(rows);
        sm.crossEntropy(i.logits!, targets, loss, rows, vocab, -100);
        return loss;
      },
      { logits: d },
      dy,
    );
  });

  test("rope (backward = inverse rotation)", () => {
    const [t, heads, headDim, rotDim] = [3, 2, 10, 6];
    const half = rotDim / 2;
    const cos = new Float64Array(t * half);
    const sin = new Float64Array(t * half);
    for (let i = 0; i < t * half; i++) {
      const a = rng.uniform(-4, 4);
      cos[i] = Math.cos(a);
      sin[i] = Math.sin(a);
    }
    const n = t * heads * headDim;
    const x = randn(n);
    const dy = randn(n);
    const dx = new Float64Array(n);
    rope(dy, dx, cos, sin, t, heads, headDim, rotDim, true);
    gradCheck(
      { x },
      (i) => {
        const y = new Float64Array(n);
        rope(i.x!, y, cos, sin, t, heads, headDim, rotDim, false);
        return y;
      },
      { x: dx },
      dy,
    );
  });

  test("embedding (table gradient, repeated ids)", () => {
    const [rows, dim] = [5, 4];
    const table = randn(rows * dim);
    const ids = new Int32Array([1, 3, 1, 0]);
    const dy = randn(ids.length * dim);
    const dt = new Float64Array(rows * dim);
    gather.embeddingBackward(ids, dy, dt, ids.length, dim);
    gradCheck(
      { table },
      (i) => {
        const y = new Float64Array(ids.length * dim);
        gather.embedding(ids, { format: 0, values: i.table! }, y, ids.length, dim);
        return y;
      },
      { table: dt },
      dy,
    );
  });

  test("linear y = x·Wᵀ + b: dx = dy·W, dW = dyᵀ·x, db = Σ dy, all through gemm", () => {
    const [m, n, k] = [4, 5, 6];
    const x = randn(m * k);
    const w = randn(n * k);
    const b = randn(n);
    const dy = randn(m * n);
    const base = {
      batch: 1,
      strideA: 0,
      strideB: 0,
      strideC: 0,
      bGroup: 1,
      alpha: 1,
      accumulate: true,
    };
    const dx = new Float64Array(m * k);
    mm.gemm(
      { ...base, m, n: k, k: n, transA: false, transB: false, lda: n, ldb: k, ldc: k, bFormat: 0 },
      dy,
      { format: 0, values: w },
      dx,
      null,
    );
    const dw = new Float64Array(n * k);
    mm.gemm(
      { ...base, m: n, n: k, k: m, transA: true, transB: false, lda: n, ldb: k, ldc: k, bFormat: 0 },
      dy,
      { format: 0, values: x },
      dw,
      null,
    );
    const db = new Float64Array(n);
    reduce.sumRows(dy, db, m, n);
    gradCheck(
      { x, w, b },
      (i) => {
        const y = new Float64Array(m * n);
        mm.gemm(
          {
            ...base,
            accumulate: false,
            m,
            n,
            k,
            transA: false,
            transB: true,
            lda: k,
            ldb: k,
            ldc: n,
            bFormat: 0,
          },
          i.x!,
          { format: 0, values: i.w! },
          y,
          i.b!,
        );
        return y;
      },
      { x: dx, w: dw, b: db },
      dy,
    );
  });
});

// Keep the FloatArray type referenced for readers: kernels accept both widths.
export type { FloatArray };
