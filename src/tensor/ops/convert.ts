/** Storage format changes: widen, narrow, quantize, dequantize. */

import type { DType } from "../../formats/dtype.js";
import { isQuantized, QK } from "../../formats/dtype.js";
import { ShapeError } from "../../util/errors.js";
import type { Tensor } from "../tensor.js";
import { empty, formatOf } from "../tensor.js";
import { dense } from "./check.js";

/**
 * A copy of t in another float or quantized format (quantized targets need rows of whole 32-blocks). q4x4 is
 * reached from q4 by repacking (Backend.repackQ4) and left back to q4 the same way; other formats pass through q4.
 */
export function cast(t: Tensor, dtype: DType): Tensor {
  if (dtype === t.dtype) return t.contiguous();
  if (isQuantized(dtype) && (t.ndim < 1 || t.dim(-1) % QK !== 0))
    throw new ShapeError(
      `cannot quantize [${t.shape}] to ${dtype}: the last dimension must be a multiple of ${QK}`,
    );
  if (t.dtype === "q4x4" || dtype === "q4x4") {
    const q4 = t.dtype === "q4x4" ? repacked(t, "q4") : cast(t, "q4");
    if (dtype === "q4") return q4;
    const out = dtype === "q4x4" ? repacked(q4, "q4x4") : cast(q4, dtype);
    q4.dispose();
    return out;
  }
  const src = dense(t);
  // The convert kernel widens to or narrows from f32; other pairs (q4 → f16, bf16 → q8, …) go through f32.
  if ((isQuantized(t.dtype) || isQuantized(dtype)) && t.dtype !== "f32" && dtype !== "f32") {
    const f = cast(t, "f32");
    const out = cast(f, dtype);
    f.dispose();
    return out;
  }
  const out = empty(t.backend, dtype, t.shape);
  t.backend.convert(src.ptr, formatOf(t.dtype), out.ptr, formatOf(dtype), t.numel);
  if (src !== t) src.dispose();
  return out;
}

/**
 * q4 → q4x4 or q4x4 → q4 (a copy). A q4 tensor with an Inf or NaN scale stays q4 (the q4x4 kernels assume finite
 * scales): the result's dtype says which.
 */
function repacked(t: Tensor, dtype: "q4" | "q4x4"): Tensor {
  const k = t.dim(-1);
  const n = t.numel / k;
  const out = empty(t.backend, dtype, t.shape);
  const ok = t.backend.repackQ4(t.ptr, out.ptr, n, k, dtype === "q4");
  if (ok) return out;
  out.dispose();
  return t.contiguous();
}
