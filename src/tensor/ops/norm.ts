/** Normalisation ops over the last dimension. */
import type { Tensor } from "../tensor.js";
import { empty } from "../tensor.js";
import { dense, expectF32, expectShape } from "./check.js";

/** LayerNorm with optional affine weight and bias ([cols]). */
export function layerNorm(x: Tensor, w: Tensor | null, b: Tensor | null, eps: number): Tensor {
  expectF32("layerNorm", "x", x);
  const cols = x.dim(-1);
  if (w) expectShape("layerNorm", "weight", w, [cols]);
  if (b) expectShape("layerNorm", "bias", b, [cols]);
  const xd = dense(x);
  const out = empty(x.backend, "f32", x.shape);
  x.backend.layerNorm(xd.ptr, w?.ptr ?? 0, b?.ptr ?? 0, out.ptr, x.numel / cols, cols, eps);
  if (xd !== x) xd.dispose();
  return out;
}

/** RMSNorm: w · x / sqrt(mean(x²) + eps). */
export function rmsNorm(x: Tensor, w: Tensor | null, eps: number): Tensor {
  expectF32("rmsNorm", "x", x);
  const cols = x.dim(-1);
  if (w) expectShape("rmsNorm", "weight", w, [cols]);
  const xd = dense(x);
  const out = empty(x.backend, "f32", x.shape);
  x.backend.rmsNorm(xd.ptr, w?.ptr ?? 0, out.ptr, x.numel / cols, cols, eps);
  if (xd !== x) xd.dispose();
  return out;
}
