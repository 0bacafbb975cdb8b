import assert from "node:assert/strict";
import { test } from "node:test";
import { centerCrop } from "./crop.js";

test("crops at top = (h − ch)//2, left = (w − cw)//2", () => {
  const w = 5;
  const h = 4;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.fill(i, i * 3, i * 3 + 3);
  const out = centerCrop({ width: w, height: h, data }, 2, 3);
  // left = (5 − 2)//2 = 1, top = (4 − 3)//2 = 0
  assert.deepEqual(
    Array.from(out.data).filter((_, i) => i % 3 === 0),
    [1, 2, 6, 7, 11, 12],
  );
  assert.throws(() => centerCrop({ width: w, height: h, data }, 6, 1), /cannot centre-crop/);
});
