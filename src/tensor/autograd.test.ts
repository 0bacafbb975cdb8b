/**
 * The tape: every differentiable tensor op's recorded backward against a central finite difference of the loss
 * L = Σ R ⊙ op(inputs) along a random direction, per input, in f32 on each backend (tolerance 5e-3 relative:
 * f32 rounding of L over a step of 1e-2). Plus the tape's own rules: no recording without a tape, leaf gradients
 * accumulate across backward passes, intermediates are freed.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Backend } from "../backend/backend.js";
import { TEST_BACKENDS, testBackend } from "../testing/backends.js";
import { Rng } from "../util/random.js";
import * as F from "./ops/index.js";
import { tidy } from "./scope.js";
import { Tape } from "./tape.js";
import type { Tensor } from "./tensor.js";
import { fromF32, fromI32 } from "./tensor.js";

type Op = (b: Backend, xs: Tensor[]) => Tensor;

interface Case {
  name: string;
  shapes: number[][];
  op: Op;
}

const cases: Case[] = [
  { name: "add (broadcast)", shapes: [[3, 5], [5]], op: (_, [a, b]) => F.add(a!, b!) },
  { name: "mul (broadcast)", shapes: [[4, 3], [3]], op: (_, [a, b]) => F.mul(a!, b!) },
  { name: "scale", shapes: [[7]], op: (_, [a]) => F.scale(a!, -1.5) },
  // Random normal inputs: the maxima are apart by far more than the finite-difference step.
  { name: "maxRows", shapes: [[6, 5]], op: (_, [a]) => F.maxRows(a!) },
  { name: "geluErf", shapes: [[9]], op: (_, [a]) => F.geluErf(a!) },
  { name: "geluTanh", shapes: [[9]], op: (_, [a]) => F.geluTanh(a!) },
  { name: "silu", shapes: [[9]], op: (_, [a]) => F.silu(a!) },
  { name: "swiglu", shapes: [[6], [6]], op: (_, [a, b]) => F.swiglu(a!, b!) },
  { name: "layerNorm", shapes: [[3, 8], [8], [8]], op: (_, [x, w, b]) => F.layerNorm(x!, w!, b!, 1e-5) },
  { name: "rmsNorm", shapes: [[3, 8], [8]], op: (_, [x, w]) => F.rmsNorm(x!, w!, 1e-6) },
  { name: "softmax", shapes: [[4, 6]], op: (_, [x]) => F.softmax(x!) },
  { name: "linear (x, W, b)", shapes: [[5, 7], [3, 7], [3]], op: (_, [x, w, b]) => F.linear(x!, w!, b!) },
  {
    name: "linear small m",
    shapes: [
      [1, 7],
      [3, 7],
    ],
    op: (_, [x, w]) => F.linear(x!, w!),
  },
  {
    name: "matmul ᵀ·",
    shapes: [
      [4, 3],
      [4, 5],
    ],
    op: (_, [a, b]) => F.matmul(a!, b!, { transA: true, alpha: 0.5 }),
  },
  {
    name: "matmul ·ᵀ",
    shapes: [
      [3, 4],
      [5, 4],
    ],
    op: (_, [a, b]) => F.matmul(a!, b!, { transB: true }),
  },
  {
    name: "attention causal, grouped KV",
    shapes: [
      [3, 4 * 2],
      [5, 2 * 2],
      [5, 2 * 2],
    ],
    op: (_, [q, k, v]) => F.attention(q!, k!, v!, { heads: 4, kvHeads: 2, headDim: 2, causal: true }),
  },
  {
    name: "attention bidirectional",
    shapes: [
      [4, 2 * 3],
      [4, 2 * 3],
      [4, 2 * 3],
    ],
    op: (_, [q, k, v]) => F.attention(q!, k!, v!, { heads: 2, kvHeads: 2, headDim: 3, causal: false }),
  },
  {
    // Segments of different lengths: each its own block.
    name: "attention causal, grouped KV, packed segments 2 + 3 + 1",
    shapes: [
      [6, 4 * 2],
      [6, 2 * 2],
      [6, 2 * 2],
    ],
    op: (_, [q, k, v]) =>
      F.attention(q!, k!, v!, { heads: 4, kvHeads: 2, headDim: 2, causal: true, segments: [2, 3, 1] }),
  },
  {
    // More equal-length segments than heads: the run batched over segments, a head at a time.
    name: "attention bidirectional, grouped KV, packed segments 1 + 3 × 2",
    shapes: [
      [7, 2 * 3],
      [7, 1 * 3],
      [7, 1 * 3],
    ],
    op: (_, [q, k, v]) =>
      F.attention(q!, k!, v!, { heads: 2, kvHeads: 1, headDim: 3, causal: false, segments: [1, 2, 2, 2] }),
  },
  {
    name: "rope (partial)",
    shapes: [[3, 2 * 6]],
    op: (b, [x]) => {
      const t = F.ropeTable(b, [0, 4, 9], 4, 10000);
      return F.rope(x!, t, 2, 6);
    },
  },
  {
    name: "embedding",
    shapes: [[6, 4]],
    op: (b, [table]) => F.embedding(fromI32(b, [2, 0, 2, 5]), table!),
  },
  {
    name: "concatRows",
    shapes: [
      [2, 3],
      [1, 3],
    ],
    op: (_, [a, b]) => F.concatRows([a!, b!]),
  },
  { name: "reshape + slice", shapes: [[4, 6]], op: (_, [a]) => a!.reshape([8, 3]).slice(0, 2, 7) },
  { name: "transpose", shapes: [[3, 5]], op: (_, [a]) => a!.transpose(0, 1).contiguous() },
  {
    name: "crossEntropySum",
    shapes: [[4, 7]],
    op: (b, [x]) => F.crossEntropySum(x!, fromI32(b, [3, -100, 0, 6]), 0.25),
  },
  {
    name: "binaryCrossEntropySum",
    shapes: [[6, 1]],
    op: (_, [x]) => F.binaryCrossEntropySum(x!, Float32Array.from([1, 0, 0, 1, 0, 0]), 0.5),
  },
  { name: "mean", shapes: [[5]], op: (_, [x]) => F.mean(x!) },
];

function randn(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** L(xs) = Σ r ⊙ op(xs), evaluated without a tape. */
function loss(b: Backend, c: Case, xs: Float32Array[], r: Float32Array | null): number {
  return tidy(() => {
    const out = c
      .op(
        b,
        xs.map((x, i) => fromF32(b, x, c.shapes[i])),
      )
      .toF32();
    let s = 0;
    for (let i = 0; i < out.length; i++) s += out[i]! * (r ? r[i]! : 1);
    return s;
  });
}

describe("autograd: recorded backwards match finite differences", () => {
  for (const name of TEST_BACKENDS)
    for (const c of cases)
      test(`${name}: ${c.name}`, async () => {
        const b = await testBackend(name);
        const rng = new Rng(3);
        const xs = c.shapes.map((s) =>
          randn(
            rng,
            s.reduce((p, q) => p * q, 1),
          ),
        );
        const outLen = tidy(
          () =>
            c.op(
              b,
              xs.map((x, i) => fromF32(b, x, c.shapes[i])),
            ).numel,
        );
        const r = randn(rng, outLen);
        const tape = new Tape();
        const leaves = xs.map((x, i) => {
          const t = fromF32(b, x, c.shapes[i]);
          t.requiresGrad = true;
          return t;
        });
        tidy(() =>
          tape.run(() => {
            const out = c.op(b, leaves);
            const l = F.sum(F.mul(out.reshape([out.numel]), fromF32(b, r)));
            tape.backward(l);
          }),
        );
        for (let i = 0; i < xs.length; i++) {
          const grad = leaves[i]!.grad?.toF32();
          assert.ok(grad, `input ${i} has a gradient`);
          const dir = randn(rng, xs[i]!.length);
          const eps = 1e-2;
          const plus = xs.map((x, j) => (j === i ? x.map((v, k) => v + eps * dir[k]!) : x));
          const minus = xs.map((x, j) => (j === i ? x.map((v, k) => v - eps * dir[k]!) : x));
          const numeric = (loss(b, c, plus, r) - loss(b, c, minus, r)) / (2 * eps);
          let analytic = 0;
          for (let k = 0; k < dir.length; k++) analytic += grad[k]! * dir[k]!;
          const err = Math.abs(numeric - analytic) / Math.max(1, Math.abs(numeric));
          assert.ok(err < 5e-3, `input ${i}: numeric ${numeric}, analytic ${analytic}, rel err ${err}`);
        }
        for (const l of leaves) l.dispose();
      });
});

describe("attention over packed segments", () => {
  // Each segment gets the bits of its own call, forward and backward: the packed batch trains as the per-sequence one.
  for (const name of TEST_BACKENDS)
    for (const causal of [true, false])
      test(`${name}: ${causal ? "causal" : "bidirectional"}, the same bits as one call per segment`, async () => {
        const b = await testBackend(name);
        const rng = new Rng(5);
        const [heads, kvHeads, d] = [4, 2, 3];
        // 3, 3, 3, 3, 3 (a run longer than the heads) then 5, 1, 4 (blocks of their own).
        const segments = [3, 3, 3, 3, 3, 5, 1, 4];
        const t = segments.reduce((n, l) => n + l, 0);
        const widths = [heads * d, kvHeads * d, kvHeads * d];
        const xs = widths.map((w) => randn(rng, t * w));
        const gout = randn(rng, t * heads * d);
        const run = (rows: Array<[number, number]>, segs?: number[]) =>
          rows.map(([r0, n]) => {
            const tape = new Tape();
            const leaves = xs.map((x, i) => {
              const l = fromF32(b, x.subarray(r0 * widths[i]!, (r0 + n) * widths[i]!), [n, widths[i]!]);
              l.requiresGrad = true;
              return l;
            });
            const out = tidy(() =>
              tape.run(() => {
                const [q, k, v] = leaves;
                const o = F.attention(q!, k!, v!, { heads, kvHeads, headDim: d, causal, segments: segs });
                const g = fromF32(b, gout.subarray(r0 * heads * d, (r0 + n) * heads * d));
                tape.backward(F.sum(F.mul(o.reshape([o.numel]), g)));
                return o.toF32();
              }),
            );
            const grads = leaves.map((l) => l.grad!.toF32());
            for (const l of leaves) l.dispose();
            return { out, grads };
          });
        const [packed] = run([[0, t]], segments);
        let r0 = 0;
        const each = run(segments.map((n) => [(r0 += n) - n, n]));
        const cat = (xs: Float32Array[]) => Float32Array.from(xs.flatMap((x) => Array.from(x)));
        assert.deepEqual(packed!.out, cat(each.map((e) => e.out)));
        for (let i = 0; i < 3; i++) assert.deepEqual(packed!.grads[i], cat(each.map((e) => e.grads[i]!)));
      });
});

describe("the tape", () => {
  test("no tape, no recording: outputs do not require gradients", async () => {
    const b = await testBackend("js");
    const w = fromF32(b, [1, 2, 3, 4], [2, 2]);
    w.requiresGrad = true;
    const y = tidy(() => F.linear(fromF32(b, [1, 1], [1, 2]), w).requiresGrad);
    assert.equal(y, false);
    w.dispose();
  });

  test("leaf gradients accumulate across backward passes; heap returns to its level", async () => {
    const b = await testBackend("js");
    const w = fromF32(b, [0.5, -1], [1, 2]);
    w.requiresGrad = true;
    const run = () => {
      const tape = new Tape();
      tidy(() => tape.run(() => tape.backward(F.sum(F.linear(fromF32(b, [1, 2], [1, 2]), w)))));
    };
    run();
    const used = b.heap.used;
    run();
    assert.deepEqual(Array.from(w.grad!.toF32()), [2, 4]);
    assert.equal(b.heap.used, used, "a backward pass leaves nothing behind but the accumulated gradient");
    w.dispose();
  });
});
