/**
 * linear() with q8/q4 weights: which product it takes, by row count and the backend's intProducts, checked bit for
 * bit against the kernel it must have called; and the integer products' error against the f32 product of the same
 * (quantized) weights, bounded by what quantizing the activations to q8 costs; and q4x4 (q4 repacked for
 * decoding) giving q4's results bit for bit through linear(), cast and toF32, at any row count.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WeightFormat } from "../../backend/backend.js";
import { TEST_BACKENDS, testBackend } from "../../testing/backends.js";
import { Rng } from "../../util/random.js";
import { tidy } from "../scope.js";
import { empty, fromF32 } from "../tensor.js";
import { cast } from "./convert.js";
import { GEMM_DEFAULTS, linear, SMALL_M } from "./linear.js";

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

function relMaxError(a: Float32Array, ref: Float32Array): number {
  let e = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    e = Math.max(e, Math.abs(a[i]! - ref[i]!));
    m = Math.max(m, Math.abs(ref[i]!));
  }
  return e / m;
}

for (const name of TEST_BACKENDS) {
  describe(`linear with quantized weights (${name})`, () => {
    for (const dtype of ["q8", "q4"] as const) {
      for (const m of [1, SMALL_M, SMALL_M + 1, 37]) {
        test(`${dtype}, ${m} rows`, async () => {
          const be = await testBackend(name);
          const saved = be.intProducts;
          const rng = new Rng(1000 + m);
          const [n, k] = [19, 96];
          try {
            tidy(() => {
              const x = fromF32(be, randn(rng, m * k), [m, k]);
              const wf = fromF32(be, randn(rng, n * k, 0.2), [n, k]);
              const w = cast(wf, dtype);
              const b = fromF32(be, randn(rng, n), [n]);
              const fmt = dtype === "q8" ? WeightFormat.q8 : WeightFormat.q4;
              // The integer product, composed by hand: activations to q8 blocks, then linearQuant.
              const xq = empty(be, "q8", [m, k]);
              be.convert(x.ptr, WeightFormat.f32, xq.ptr, WeightFormat.q8, m * k);
              const integer = empty(be, "f32", [m, n]);
              be.linearQuant(xq.ptr, w.ptr, fmt, b.ptr, integer.ptr, m, n, k);
              // The f32 product over the widened weights.
              const widened = empty(be, "f32", [m, n]);
              be.gemm({
                ...GEMM_DEFAULTS,
                a: x.ptr,
                b: w.ptr,
                c: widened.ptr,
                bias: b.ptr,
                bFormat: fmt,
                m,
                n,
                k,
                transB: true,
                lda: k,
                ldb: k,
                ldc: n,
              });
              be.intProducts = true;
              assert.deepEqual(
                linear(x, w, b).toF32(),
                integer.toF32(),
                "intProducts on: the integer product",
              );
              be.intProducts = false;
              const off = linear(x, w, b).toF32();
              if (m <= SMALL_M)
                assert.deepEqual(off, integer.toF32(), "few rows: the integer product either way");
              else
                assert.deepEqual(off, widened.toF32(), "intProducts off: the f32 GEMM over widened weights");
              // Quantizing the activations to q8 (a step of max|x|/127 per block of 32) moves the product by a
              // fraction of a percent of its largest output here; 1 % bounds it with room.
              const err = relMaxError(integer.toF32(), widened.toF32());
              assert.ok(err > 0 && err < 0.01, `integer vs f32 product: relative error ${err}`);
            });
          } finally {
            be.intProducts = saved;
          }
        });
      }
    }
  });
}

for (const name of TEST_BACKENDS) {
  describe(`linear with q4x4 weights (${name})`, () => {
    for (const m of [1, SMALL_M, SMALL_M + 1, 37]) {
      test(`${m} rows: q4's results bit for bit`, async () => {
        const be = await testBackend(name);
        const rng = new Rng(2000 + m);
        const [n, k] = [19, 96];
        tidy(() => {
          const x = fromF32(be, randn(rng, m * k), [m, k]);
          const w4 = cast(fromF32(be, randn(rng, n * k, 0.2), [n, k]), "q4");
          const w = cast(w4, "q4x4");
          const b = fromF32(be, randn(rng, n), [n]);
          assert.equal(w.dtype, "q4x4");
          const saved = be.intProducts;
          try {
            be.intProducts = true;
            const want = linear(x, w4, b).toF32();
            assert.deepEqual(linear(x, w, b).toF32(), want);
            // With integer products off, q4x4 still takes them (it has no other product).
            be.intProducts = false;
            assert.deepEqual(linear(x, w, b).toF32(), want);
          } finally {
            be.intProducts = saved;
          }
          assert.deepEqual(w.toF32(), w4.toF32(), "toF32 reads through q4");
          assert.deepEqual(cast(w, "q4").toBytes(), w4.toBytes(), "cast back to q4: the same bytes");
          assert.deepEqual(cast(w, "f16").toBytes(), cast(w4, "f16").toBytes());
          assert.throws(() => w.slice(0, 0, 4), /cannot be sliced/);
        });
      });
    }
  });
}
