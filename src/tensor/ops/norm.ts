/** Normalisation ops over the last dimension, with their gradients. */
import { record } from "../autograd.js";
import type { Tensor } from "../tensor.js";
import { empty, zeros } from "../tensor.js";
import { dense, expectF32, expectShape } from "./check.js";

/** LayerNorm with optional affine weight and bias ([cols]). */
export function layerNorm(x: Tensor, w: Tensor | null, b: Tensor | null, eps: number): Tensor {
  expectF32("layerNorm", "x", x);
  const cols = x.dim(-1);
  const rows = x.numel / cols;
  if (w) expectShape("layerNorm", "weight", w, [cols]);
  if (b) expectShape("layerNorm", "bias", b, [cols]);
  const be = x.backend;
  const xd = dense(x);
  const out = empty(be, "f32", x.shape);
  be.layerNorm(xd.ptr, w?.ptr ?? 0, b?.ptr ?? 0, out.ptr, rows, cols, eps);
  if (xd !== x) xd.dispose();
  record(out, [x, w, b], [x, w], (g, tape) => {
    const [xs, gd] = [dense(x), dense(g)];
    const dx = zeros(be, x.shape);
    const dw = w?.requiresGrad ? zeros(be, [cols]) : null;
    const db = b?.requiresGrad ? zeros(be, [cols]) : null;
    be.layerNormBackward(xs.ptr, w?.ptr ?? 0, gd.ptr, dx.ptr, dw?.ptr ?? 0, db?.ptr ?? 0, rows, cols, eps);
    tape.accumulate(x, dx);
    if (dw) tape.accumulate(w!, dw);
    if (db) tape.accumulate(b!, db);
  });
  return out;
}

/** RMSNorm: w · x / sqrt(mean(x²) + eps). */
export function rmsNorm(x: Tensor, w: Tensor | null, eps: number): Tensor {
  expectF32("rmsNorm", "x", x);
  const cols = x.dim(-1);
  const rows = x.numel / cols;
  if (w) expectShape("rmsNorm", "weight", w, [cols]);
  const be = x.backend;
  const xd = dense(x);
  const out = empty(be, "f32", x.shape);
  be.rmsNorm(xd.ptr, w?.ptr ?? 0, out.ptr, rows, cols, eps);
  if (xd !== x) xd.dispose();
  record(out, [x, w], [x, w], (g, tape) => {
    const [xs, gd] = [dense(x), dense(g)];
    const dx = zeros(be, x.shape);
    const dw = w?.requiresGrad ? zeros(be, [cols]) : null;
    be.rmsNormBackward(xs.ptr, w?.ptr ?? 0, gd.ptr, dx.ptr, dw?.ptr ?? 0, rows, cols, eps);
    tape.accumulate(x, dx);
    if (dw) tape.accumulate(w!, dw);
  });
  return out;
}
