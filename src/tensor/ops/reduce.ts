/** Reductions (to a scalar, or over rows), with their gradients. */

import { ShapeError } from "../../util/errors.js";
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

/**
 * Max over rows: [N, H] → [1, H], each column's largest entry. The gradient goes to that entry alone (ties: the
 * first row), as max pooling's does.
 */
export function maxRows(x: Tensor): Tensor {
  expectF32("maxRows", "x", x);
  if (x.ndim !== 2) throw new ShapeError(`maxRows: x must be [N, H], got [${x.shape.join(", ")}]`);
  const [n, h] = [x.dim(0), x.dim(1)];
  const v = x.toF32();
  const best = new Float32Array(h).fill(-Infinity);
  const at = new Int32Array(h);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < h; j++) {
      const e = v[i * h + j]!;
      if (e > best[j]!) {
        best[j] = e;
        at[j] = i;
      }
    }
  const out = fromF32(x.backend, best, [1, h]);
  record(out, [x], [], (g, tape) => {
    const gv = g.toF32();
    const dx = new Float32Array(n * h);
    for (let j = 0; j < h; j++) dx[at[j]! * h + j] = gv[j]!;
    tape.accumulate(x, fromF32(x.backend, dx, [n, h]));
  });
  return out;
}
