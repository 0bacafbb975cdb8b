/** Inverted dropout: zero each element with probability p and scale the rest by 1/(1−p). */
import type { Rng } from "../../util/random.js";
import type { Tensor } from "../tensor.js";
import { fromF32 } from "../tensor.js";
import { mul } from "./elementwise.js";

export function dropout(x: Tensor, p: number, rng: Rng): Tensor {
  if (p <= 0) return x;
  const keepScale = 1 / (1 - p);
  return mul(x, fromF32(x.backend, rng.dropMask(x.numel, p, keepScale), x.shape));
}
