/**
 * f16 and bf16 conversions, bit for bit: round to nearest even (ties included), subnormals, overflow to Inf,
 * NaN kept NaN (quiet, sign kept), every one of the 65536 f16 values round-tripping, and known PyTorch results.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bf16BitsToF32, bitsToF32, f16BitsToF32, f32Bits, f32ToBf16Bits, f32ToF16Bits } from "./half.js";

const hex = (n: number) => `0x${n.toString(16)}`;

describe("f16", () => {
  test("every f16 value converts to f32 and back unchanged", () => {
    for (let h = 0; h < 65536; h++) {
      const x = f16BitsToF32(h);
      if (Number.isNaN(x)) {
        const back = f32ToF16Bits(x);
        assert.ok((back & 0x7c00) === 0x7c00 && (back & 0x3ff) !== 0, `NaN ${hex(h)} stays NaN`);
        assert.equal(back & 0x8000, h & 0x8000, "NaN keeps its sign");
      } else assert.equal(f32ToF16Bits(x), h, `${hex(h)} → ${x}`);
    }
  });

  test("edge values (as numpy's float16 gives them)", () => {
    const cases: Array<[number, number]> = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff], // largest finite
      [65520, 0x7c00], // halfway to the next (65536): ties to even rounds up to Inf
      [65519.996, 0x7bff],
      [1e6, 0x7c00],
      [Number.POSITIVE_INFINITY, 0x7c00],
      [Number.NEGATIVE_INFINITY, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // half of it: tie to even → 0
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // 1.5 units: tie → even (2)
      [5 * 2 ** -25, 0x0002], // 2.5 units: tie → even (2)
      [0.1, 0x2e66],
      [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10 → even (1)
      [1 + 3 * 2 ** -11, 0x3c02], // tie → even (1+2^-9)
      [2 ** -14 * (1 - 2 ** -11), 0x0400], // rounds up from subnormal into the smallest normal
    ];
    for (const [x, h] of cases) assert.equal(hex(f32ToF16Bits(Math.fround(x))), hex(h), `f16(${x})`);
    assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
    assert.equal(f16BitsToF32(0x0001), 2 ** -24);
    assert.equal(f16BitsToF32(0x03ff), 2 ** -14 * (1023 / 1024));
  });
});

describe("bf16", () => {
  test("round to nearest even, Inf and NaN kept (torch's conversion)", () => {
    const cases: Array<[number, number]> = [
      [1, 0x3f80],
      [-1, 0xbf80],
      [bitsToF32(0x3f808000), 0x3f80], // tie, even mantissa: stays
      [bitsToF32(0x3f818000), 0x3f82], // tie, odd mantissa: rounds up
      [bitsToF32(0x3f808001), 0x3f81], // above the tie
      [bitsToF32(0x7f7fffff), 0x7f80], // max f32 rounds to Inf
      [Number.POSITIVE_INFINITY, 0x7f80],
      [Number.NEGATIVE_INFINITY, 0xff80],
      [bitsToF32(0x00000001), 0x0000], // tiny subnormal → 0
      [bitsToF32(0x00008000), 0x0000], // tie at the subnormal edge → even (0)
      [bitsToF32(0x00018000), 0x0002],
    ];
    for (const [x, b] of cases) assert.equal(hex(f32ToBf16Bits(x)), hex(b), `bf16(${hex(f32Bits(x))})`);
    const nan = f32ToBf16Bits(bitsToF32(0xffc00001));
    assert.ok(
      (nan & 0x7f80) === 0x7f80 && (nan & 0x7f) !== 0 && (nan & 0x8000) !== 0,
      "NaN stays a negative NaN",
    );
    assert.ok(
      Number.isNaN(bf16BitsToF32(f32ToBf16Bits(bitsToF32(0x7f800001)))),
      "a signalling NaN does not become Inf",
    );
  });
  test("bf16 → f32 is exact and round-trips all 65536 values", () => {
    for (let b = 0; b < 65536; b++) {
      const x = bf16BitsToF32(b);
      if (!Number.isNaN(x)) assert.equal(f32ToBf16Bits(x), b);
    }
  });
});
