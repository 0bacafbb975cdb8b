/** Conversions between storage formats (reference): f32 ↔ f16/bf16, f32 → q8/q4, q8/q4 → f32. */

import { quantizeQ4Ref, quantizeQ8Ref } from "../../formats/blocks.js";
import { f32ToBf16Bits, f32ToF16Bits } from "../../formats/half.js";
import { WeightFormat } from "../backend.js";
import { decodeWeights } from "./arrays.js";

/** src/dst are byte views of exactly the n values' storage. */
export function convert(
  src: Uint8Array,
  srcFormat: WeightFormat,
  dst: Uint8Array,
  dstFormat: WeightFormat,
  n: number,
) {
  if (srcFormat === WeightFormat.q4x4 || dstFormat === WeightFormat.q4x4)
    throw new Error(
      "convert: q4x4 weights feed only linearQuant; repack them to q4 first (Backend.repackQ4)",
    );
  let values: Float32Array;
  if (srcFormat === WeightFormat.f32) values = new Float32Array(src.buffer, src.byteOffset, n);
  else {
    values = new Float32Array(n);
    decodeWeights({ format: srcFormat, bytes: src }, 0, n, values);
  }
  switch (dstFormat) {
    case WeightFormat.f32:
      new Float32Array(dst.buffer, dst.byteOffset, n).set(values);
      return;
    case WeightFormat.f16: {
      const o = new Uint16Array(dst.buffer, dst.byteOffset, n);
      for (let i = 0; i < n; i++) o[i] = f32ToF16Bits(values[i]!);
      return;
    }
    case WeightFormat.bf16: {
      const o = new Uint16Array(dst.buffer, dst.byteOffset, n);
      for (let i = 0; i < n; i++) o[i] = f32ToBf16Bits(values[i]!);
      return;
    }
    case WeightFormat.q8:
      quantizeQ8Ref(values, dst, n);
      return;
    case WeightFormat.q4:
      quantizeQ4Ref(values, dst, n);
      return;
  }
}
