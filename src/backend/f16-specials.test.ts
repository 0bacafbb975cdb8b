/**
 * f16 operands holding Inf and NaN: the wasm kernels convert finite groups of halves with a shortcut and take the
 * full conversion for a group with an all-ones exponent, so these values must come out as the js reference's
 * (Inf where it has Inf, NaN where it has NaN, the finite outputs within rounding).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../util/random.js";
import type { Backend } from "./backend.js";
import { WeightFormat } from "./backend.js";
import { createBackend } from "./registry.js";

const F16_INF = 0x7c00;
const F16_NAN = 0x7e00;

function halves(rng: Rng, n: number, specials: Record<number, number>): Uint16Array {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    f[0] = rng.normal();
    // f32 → f16 by truncation (any finite f16 will do here); |x| < 8 so no overflow.
    const x = u[0]!;
    const e = ((x >>> 23) & 0xff) - 127 + 15;
    out[i] = ((x >>> 16) & 0x8000) | (e <= 0 ? 0 : (e << 10) | ((x >>> 13) & 0x3ff));
  }
  for (const [i, h] of Object.entries(specials)) out[Number(i)] = h;
  return out;
}

function run(
  b: Backend,
  inputs: Array<Float32Array | Uint16Array>,
  outFloats: number,
  call: (p: number[], out: number) => void,
): Float32Array {
  const ptrs = inputs.map((a) => {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const p = b.heap.alloc(bytes.length);
    new Uint8Array(b.heap.buffer, p, bytes.length).set(bytes);
    return p;
  });
  const out = b.heap.alloc(outFloats * 4);
  try {
    call(ptrs, out);
    return new Float32Array(b.heap.buffer, out, outFloats).slice();
  } finally {
    for (const p of [...ptrs, out]) b.heap.release(p);
  }
}

function assertSame(ref: Float32Array, got: Float32Array, what: string): void {
  let specials = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const g = got[i]!;
    if (!Number.isFinite(r)) {
      specials++;
      assert.ok(
        Object.is(r, g) || (Number.isNaN(r) && Number.isNaN(g)),
        `${what}[${i}]: expected ${r}, got ${g}`,
      );
    } else assert.ok(Math.abs(r - g) <= 1e-5 * (1 + Math.abs(r)), `${what}[${i}]: expected ${r}, got ${g}`);
  }
  assert.ok(specials > 0, `${what}: the case has Inf/NaN outputs`);
}

describe("f16 Inf and NaN in the wasm kernels' shortcut conversion", () => {
  test("linearDot with f16 weights", async () => {
    const [js, wasm] = [await createBackend("js"), await createBackend("wasm", { threads: 2 })];
    const rng = new Rng(7);
    const [n, k] = [9, 40];
    const x = Float32Array.from({ length: k }, () => rng.normal());
    // Row 1 holds +Inf, row 4 NaN, row 6 −Inf: each poisons only its own output.
    const w = halves(rng, n * k, {
      [1 * k + 3]: F16_INF,
      [4 * k + 17]: F16_NAN,
      [6 * k + 8]: F16_INF | 0x8000,
    });
    const call = (b: Backend) =>
      run(b, [x, w], n, ([px, pw], out) => b.linearDot(px!, pw!, WeightFormat.f16, 0, out, 1, n, k));
    assertSame(call(js), call(wasm), "out");
    wasm.dispose();
  });

  test("decodeAttention with f16 K and V", async () => {
    const [js, wasm] = [await createBackend("js"), await createBackend("wasm", { threads: 2 })];
    const rng = new Rng(8);
    const [s, heads, d] = [11, 2, 16];
    const q = Float32Array.from({ length: heads * d }, () => rng.normal());
    const k = halves(rng, s * heads * d, {});
    // V of key 5, head 1, holds Inf: head 1's output becomes non-finite, head 0's stays as it was.
    const v = halves(rng, s * heads * d, { [5 * heads * d + d + 2]: F16_INF });
    const call = (b: Backend) =>
      run(b, [q, k, v], heads * d, ([pq, pk, pv], out) =>
        b.decodeAttention(pq!, pk!, pv!, WeightFormat.f16, out, 1, s, heads, heads, d, 0.25),
      );
    assertSame(call(js), call(wasm), "out");
    wasm.dispose();
  });
});
