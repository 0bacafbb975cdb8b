/** Storage format changes: widen, narrow, quantize, dequantize. */

import type { DType } from "../../formats/dtype.js";
import { isQuantized, QK } from "../../formats/dtype.js";
import { ShapeError } from "../../util/errors.js";
import type { Tensor } from "../tensor.js";
import { empty, formatOf } from "../tensor.js";
import { dense } from "./check.js";

/** A copy of t in another float or quantized format (quantized targets need rows of whole 32-blocks). */
export function cast(t: Tensor, dtype: DType): Tensor {
  if (dtype === t.dtype) return t.contiguous();
  if (isQuantized(dtype) && (t.ndim < 1 || t.dim(-1) % QK !== 0))
    throw new ShapeError(
      `cannot quantize [${t.shape}] to ${dtype}: the last dimension must be a multiple of ${QK}`,
    );
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
