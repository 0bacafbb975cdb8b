/**
 * q8/q4 block formats: byte sizes (GGUF's block_q8_0 = 34 bytes, block_q4_0 = 18), the nibble layout, known
 * blocks quantized as llama.cpp does, and quantize → dequantize error bounds.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../util/random.js";
import { dequantizeQ4Ref, dequantizeQ8Ref, quantizeQ4Ref, quantizeQ8Ref } from "./blocks.js";
import { byteSize, Q4_BLOCK_BYTES, Q8_BLOCK_BYTES, QK } from "./dtype.js";
import { f16BitsToF32 } from "./half.js";

describe("block formats", () => {
  test("byte sizes match GGUF's Q8_0 and Q4_0", () => {
    assert.equal(QK, 32);
    assert.equal(Q8_BLOCK_BYTES, 34);
    assert.equal(Q4_BLOCK_BYTES, 18);
    assert.equal(byteSize("q8", 2560), 80 * 34);
    assert.equal(byteSize("q4", 2560), 80 * 18);
    assert.throws(() => byteSize("q4", 33), /whole blocks of 32/);
  });

  test("q8: scale = max|x|/127 in f16, values rounded half away from zero", () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => (i - 16) / 4); // −4 … 3.75
    const b = new Uint8Array(34);
    quantizeQ8Ref(x, b, 32);
    const d = f16BitsToF32(b[0]! | (b[1]! << 8));
    assert.equal(d, f16BitsToF32(0x2808)); // f16(4/127), as numpy gives it
    const q = Int8Array.from(b.subarray(2));
    assert.equal(q[0], -127);
    assert.equal(q[16], 0);
    assert.equal(q[31], Math.round(3.75 * (127 / 4)));
  });

  test("q4: the largest-magnitude value (with its sign) is −8·d; low nibbles hold 0–15, high nibbles 16–31", () => {
    const x = new Float32Array(32);
    x[0] = -8; // largest magnitude, negative → d = 1
    x[17] = 3;
    const b = new Uint8Array(18);
    quantizeQ4Ref(x, b, 32);
    assert.equal(f16BitsToF32(b[0]! | (b[1]! << 8)), 1);
    assert.equal(b[2]! & 15, 0); // −8 + 8
    assert.equal(b[2 + 1]! >> 4, 11); // element 17 = 3 + 8, high nibble of byte 1
    const back = new Float32Array(32);
    dequantizeQ4Ref(b, back, 32);
    assert.equal(back[0], -8);
    assert.equal(back[17], 3);
    assert.equal(back[5], 0);
  });

  test("quantize → dequantize error bounds (per block, relative to the block's max |x|)", () => {
    const rng = new Rng(11);
    const n = 32 * 500;
    const x = Float32Array.from({ length: n }, () => rng.normal() * (rng.float() < 0.1 ? 10 : 1));
    for (const [fmt, bytes, quant, dequant, bound] of [
      ["q8", 34, quantizeQ8Ref, dequantizeQ8Ref, 0.5 / 127 + 1e-3],
      ["q4", 18, quantizeQ4Ref, dequantizeQ4Ref, 1 / 8 + 1e-3],
    ] as const) {
      const b = new Uint8Array((n / 32) * bytes);
      quant(x, b, n);
      const y = new Float32Array(n);
      dequant(b, y, n);
      for (let blk = 0; blk < n / 32; blk++) {
        let amax = 0;
        let err = 0;
        for (let j = 0; j < 32; j++) {
          const i = blk * 32 + j;
          amax = Math.max(amax, Math.abs(x[i]!));
          err = Math.max(err, Math.abs(x[i]! - y[i]!));
        }
        // q8: half a step of amax/127 (plus the f16 rounding of d); q4: at most one step of amax/8 (the positive
        // side has only 7 steps, so +amax rounds to 7·d).
        assert.ok(err <= bound * amax, `${fmt} block ${blk}: error ${err} > ${bound}·${amax}`);
      }
    }
  });
});
