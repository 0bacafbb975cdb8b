/** Operand checks shared by the tensor ops: every message names the op, the operand and expected vs found. */

import type { DType } from "../../formats/dtype.js";
import { ShapeError } from "../../util/errors.js";
import type { Tensor } from "../tensor.js";

export function expectF32(op: string, name: string, t: Tensor): void {
  if (t.dtype !== "f32") throw new ShapeError(`${op}: ${name} must be f32, got ${t.dtype} [${t.shape}]`);
}

export function expectDType(op: string, name: string, t: Tensor, dtypes: readonly DType[]): void {
  if (!dtypes.includes(t.dtype))
    throw new ShapeError(`${op}: ${name} must be ${dtypes.join(" or ")}, got ${t.dtype} [${t.shape}]`);
}

export function expectShape(op: string, name: string, t: Tensor, shape: readonly number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
    throw new ShapeError(`${op}: ${name} must have shape [${shape}], got [${t.shape}]`);
}

export function expectSameBackend(op: string, ...ts: Array<Tensor | null | undefined>): void {
  const b = ts.find((t) => t)?.backend;
  for (const t of ts)
    if (t && t.backend !== b)
      throw new ShapeError(`${op}: operands live on different backends (${b?.name}, ${t.backend.name})`);
}

/** The operand itself when contiguous, else a contiguous copy (the caller disposes copies via tidy). */
export function dense(t: Tensor): Tensor {
  return t.isContiguous ? t : t.contiguous();
}
