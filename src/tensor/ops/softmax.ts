/** Softmax over the last dimension. */
import type { Tensor } from "../tensor.js";
import { empty } from "../tensor.js";
import { dense, expectF32 } from "./check.js";

export function softmax(x: Tensor): Tensor {
  expectF32("softmax", "x", x);
  const cols = x.dim(-1);
  const xd = dense(x);
  const out = empty(x.backend, "f32", x.shape);
  x.backend.softmax(xd.ptr, out.ptr, x.numel / cols, cols, 0, 0);
  if (xd !== x) xd.dispose();
  return out;
}
