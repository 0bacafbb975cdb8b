import assert from "node:assert/strict";
import { test } from "node:test";
import { expandToSquare, padColorFromMean } from "./expand.js";

test("pastes at ((m − w)//2, (m − h)//2) on the pad colour", () => {
  // 3×1 image → 3×3 canvas, row 1; 1×4 → 4×4, column 1 (floor of 1.5).
  const wide = expandToSquare(
    { width: 3, height: 1, data: Uint8Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3]) },
    [9, 8, 7],
  );
  assert.equal(wide.width, 3);
  assert.deepEqual(
    Array.from(wide.data),
    [9, 8, 7, 9, 8, 7, 9, 8, 7, 1, 1, 1, 2, 2, 2, 3, 3, 3, 9, 8, 7, 9, 8, 7, 9, 8, 7],
  );
  const tall = expandToSquare({ width: 1, height: 4, data: new Uint8Array(12).fill(5) }, [0, 0, 0]);
  assert.equal(tall.width, 4);
  for (let y = 0; y < 4; y++) {
    const row = Array.from(tall.data.subarray(y * 12, (y + 1) * 12));
    assert.deepEqual(row, [0, 0, 0, 5, 5, 5, 0, 0, 0, 0, 0, 0]);
  }
  const square = { width: 2, height: 2, data: new Uint8Array(12).fill(3) };
  assert.deepEqual(expandToSquare(square, [1, 2, 3]).data, square.data);
  assert.throws(() => expandToSquare(square, [256, 0, 0]), /0\.\.255/);
});

test("the pad colour is int(mean · 255): 127 grey for SigLIP, (122, 116, 104) for CLIP", () => {
  assert.deepEqual(padColorFromMean([0.5, 0.5, 0.5]), [127, 127, 127]);
  assert.deepEqual(padColorFromMean([0.48145466, 0.4578275, 0.40821073]), [122, 116, 104]);
});
