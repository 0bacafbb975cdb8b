/** Softmax over the last dimension, with its gradient. */
import { record } from "../autograd.js";
import type { Tensor } from "../tensor.js";
import { empty, zeros } from "../tensor.js";
import { dense, expectF32 } from "./check.js";

export function softmax(x: Tensor): Tensor {
  expectF32("softmax", "x", x);
  const cols = x.dim(-1);
  const rows = x.numel / cols;
  const xd = dense(x);
  const out = empty(x.backend, "f32", x.shape);
  x.backend.softmax(xd.ptr, out.ptr, rows, cols, 0, 0);
  if (xd !== x) xd.dispose();
  record(out, [x], [out], (g, tape) => {
    const gd = dense(g);
    const dx = zeros(x.backend, x.shape);
    x.backend.softmaxBackward(out.ptr, gd.ptr, dx.ptr, rows, cols);
    tape.accumulate(x, dx);
  });
  return out;
}
