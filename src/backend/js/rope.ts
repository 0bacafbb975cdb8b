/**
 * Rotary position embedding, rotate-half (GPT-NeoX) form with a rotated prefix of each head (reference).
 * For a head slice x = [x1 | x2 | pass] with |x1| = |x2| = rotDim/2: out = [x1·cos − x2·sin | x2·cos + x1·sin | pass],
 * i.e. x·cos + rotate_half(x)·sin with rotate_half([x1, x2]) = [−x2, x1]. inverse uses −sin (the backward).
 */
import type { FloatArray } from "./arrays.js";

export function rope(
  x: FloatArray,
  out: FloatArray,
  cos: FloatArray,
  sin: FloatArray,
  t: number,
  heads: number,
  headDim: number,
  rotDim: number,
  inverse: boolean,
): void {
  const half = rotDim / 2;
  const sgn = inverse ? -1 : 1;
  for (let p = 0; p < t; p++) {
    for (let h = 0; h < heads; h++) {
      const o = (p * heads + h) * headDim;
      for (let j = 0; j < half; j++) {
        const c = cos[p * half + j]!;
        const s = sgn * sin[p * half + j]!;
        const x1 = x[o + j]!;
        const x2 = x[o + j + half]!;
        out[o + j] = x1 * c - x2 * s;
        out[o + j + half] = x2 * c + x1 * s;
      }
      for (let j = rotDim; j < headDim; j++) out[o + j] = x[o + j]!;
    }
  }
}
