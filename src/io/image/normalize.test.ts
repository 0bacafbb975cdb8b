import assert from "node:assert/strict";
import { test } from "node:test";
import { toPixelValues } from "./normalize.js";

test("channel-first output of float32((u8 · 1/255 in double) − mean) / std", () => {
  const img = { width: 2, height: 1, data: Uint8Array.from([0, 128, 255, 10, 20, 30]) };
  const mean = [0.48145466, 0.4578275, 0.40821073] as const;
  const std = [0.26862954, 0.26130258, 0.27577711] as const;
  const out = toPixelValues(img, { mean, std, rescale: 1 / 255 });
  assert.equal(out.length, 6);
  const f = Math.fround;
  const expect = (v: number, c: number) => f(f(f(v * (1 / 255)) - f(mean[c]!)) / f(std[c]!));
  // [R(0,0), R(1,0), G(0,0), G(1,0), B(0,0), B(1,0)]
  assert.deepEqual(Array.from(out), [
    expect(0, 0),
    expect(10, 0),
    expect(128, 1),
    expect(20, 1),
    expect(255, 2),
    expect(30, 2),
  ]);
  // Rescaling in double then rounding once differs from a float32 multiply for some bytes (e.g. 3).
  const one = toPixelValues(
    { width: 1, height: 1, data: Uint8Array.from([3, 3, 3]) },
    { mean: [0, 0, 0], std: [1, 1, 1], rescale: 1 / 255 },
  );
  assert.equal(one[0], f(3 / 255));
  assert.notEqual(one[0], f(3 * f(1 / 255)), "a float32 multiply would give the neighbouring float");
  assert.throws(() => toPixelValues(img, { mean, std: [1, 0, 1], rescale: 1 / 255 }), /non-zero stds/);
});
