/**
 * q4x4 (q4 repacked at load for the decode kernels) gives the q4 path's results bit for bit (the same integer
 * sums and the same f32 operations per block), on both wasm builds and on 1 and 2 threads, for row counts that
 * are not multiples of 4; and a q4 tensor with an Inf/NaN scale is left q4.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Rng } from "../util/random.js";
import type { Backend } from "./backend.js";
import { WeightFormat } from "./backend.js";
import { createBackend } from "./registry.js";

const SHAPES = [
  [1, 1, 32],
  [1, 7, 64],
  [3, 13, 96],
  [4, 33, 256],
  [2, 70, 160],
  [5, 21, 128],
  [1, 515, 256],
  [1, 130, 2048],
  [9, 66, 64],
] as const;

function fill(b: Backend, p: number, n: number, rng: Rng, scale: number): void {
  const f = new Float32Array(b.heap.buffer, p, n);
  for (let i = 0; i < n; i++) f[i] = rng.normal() * scale;
}

/** linearQuant over q4 and over the same weights repacked, as f32 arrays. */
function both(b: Backend, m: number, n: number, k: number, seed: number): [Float32Array, Float32Array] {
  const rng = new Rng(seed);
  const wBytes = (n * k * 18) / 32;
  const x = b.heap.alloc(m * k * 4);
  const w = b.heap.alloc(n * k * 4);
  const xq = b.heap.alloc((m * k * 34) / 32);
  const wq = b.heap.alloc(wBytes);
  const wr = b.heap.alloc(wBytes);
  const bias = b.heap.alloc(n * 4);
  const o1 = b.heap.alloc(m * n * 4);
  const o2 = b.heap.alloc(m * n * 4);
  try {
    fill(b, x, m * k, rng, 1);
    fill(b, w, n * k, rng, 0.2);
    fill(b, bias, n, rng, 1);
    b.convert(x, WeightFormat.f32, xq, WeightFormat.q8, m * k);
    b.convert(w, WeightFormat.f32, wq, WeightFormat.q4, n * k);
    assert.ok(b.repackQ4(wq, wr, n, k));
    b.linearQuant(xq, wq, WeightFormat.q4, bias, o1, m, n, k);
    b.linearQuant(xq, wr, WeightFormat.q4x4, bias, o2, m, n, k);
    return [
      new Float32Array(b.heap.buffer, o1, m * n).slice(),
      new Float32Array(b.heap.buffer, o2, m * n).slice(),
    ];
  } finally {
    for (const p of [x, w, xq, wq, wr, bias, o1, o2]) b.heap.release(p);
  }
}

for (const relaxedSimd of [true, false]) {
  describe(`q4x4 equals q4 bit for bit (${relaxedSimd ? "relaxed" : "plain"} SIMD build)`, () => {
    const backends: Backend[] = [];
    let js: Backend;
    before(async () => {
      js = await createBackend("js");
      for (const threads of [1, 2]) backends.push(await createBackend("wasm", { threads, relaxedSimd }));
    });
    after(() => {
      for (const b of backends) b.dispose();
    });
    for (const [m, n, k] of SHAPES)
      test(`m=${m} n=${n} k=${k}`, () => {
        const [ref] = both(js, m, n, k, n * 31 + k);
        for (const b of backends) {
          const [q4, q4x4] = both(b, m, n, k, n * 31 + k);
          assert.deepEqual(q4x4, q4, `${b.threads} thread(s): q4x4 differs from q4`);
          // Against the plain reference (js, f64 sums of the same products): rounding only.
          let worst = 0;
          let scale = 0;
          for (let i = 0; i < ref.length; i++) {
            worst = Math.max(worst, Math.abs(q4x4[i]! - ref[i]!));
            scale = Math.max(scale, Math.abs(ref[i]!));
          }
          assert.ok(worst <= 1e-5 * scale, `${b.threads} thread(s): off the reference by ${worst}`);
        }
      });
  });
}

describe("repackQ4 leaves weights with an Inf or NaN scale as q4", () => {
  for (const name of ["js", "wasm"] as const)
    test(name, async () => {
      const b = await createBackend(name, { threads: 1 });
      try {
        const [n, k] = [6, 64];
        const bytes = (n * k * 18) / 32;
        const p = b.heap.alloc(bytes);
        const v = new Uint8Array(b.heap.buffer, p, bytes);
        for (let i = 0; i < bytes; i++) v[i] = (i * 37) & 0xff;
        for (let blk = 0; blk < bytes / 18; blk++) v[blk * 18 + 1] = 0x3c; // scale 1 (finite) everywhere…
        v[5 * 18 + 1] = 0x7c; // …but one Inf: row 2, block 1
        const before = v.slice();
        assert.equal(b.repackQ4(p, p, n, k), false);
        assert.deepEqual(new Uint8Array(b.heap.buffer, p, bytes), before);
        b.heap.release(p);
      } finally {
        b.dispose();
      }
    });
});
