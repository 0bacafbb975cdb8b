/** Reductions to a scalar, with their gradients. */
import { record } from "../autograd.js";
import type { Tensor } from "../tensor.js";
import { fromF32, full } from "../tensor.js";
import { expectF32 } from "./check.js";

/** Σ x as a [1] tensor. */
export function sum(x: Tensor): Tensor {
  expectF32("sum", "x", x);
  let s = 0;
  for (const v of x.toF32()) s += v;
  const out = fromF32(x.backend, [s], [1]);
  record(out, [x], [], (g, tape) => tape.accumulate(x, full(x.backend, x.shape, g.toF32()[0]!)));
  return out;
}

/** mean(x) as a [1] tensor. */
export function mean(x: Tensor): Tensor {
  expectF32("mean", "x", x);
  let s = 0;
  for (const v of x.toF32()) s += v;
  const out = fromF32(x.backend, [s / x.numel], [1]);
  record(out, [x], [], (g, tape) => tape.accumulate(x, full(x.backend, x.shape, g.toF32()[0]! / x.numel)));
  return out;
}
