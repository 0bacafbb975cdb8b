/**
 * How q8/q4 weights live in a safetensors file, and which format a weight takes in memory. Safetensors has no
 * block-quantized dtype: a checkpoint written by `imp quantize` stores q8/q4 matrices as U8 [rows, row bytes]
 * (GGUF Q8_0/Q4_0 blocks) and names their format in the file metadata under QUANT_METADATA_KEY, a JSON object
 * {tensor name: "q8_0" | "q4_0"}. The loader (models) reads it and src/quant writes it, so it sits here, below both.
 */
import { CheckpointError } from "../util/errors.js";
import type { DType } from "./dtype.js";
import { Q4_BLOCK_BYTES, Q8_BLOCK_BYTES, QK } from "./dtype.js";

export const QUANT_METADATA_KEY = "imp.quantized";

/** The block formats under QUANT_METADATA_KEY: our dtype and the bytes of one block of 32 weights. */
export const QUANT_FORMATS: Readonly<Record<string, { dtype: DType; blockBytes: number }>> = {
  q8_0: { dtype: "q8", blockBytes: Q8_BLOCK_BYTES },
  q4_0: { dtype: "q4", blockBytes: Q4_BLOCK_BYTES },
};

/** The {tensor: "q8_0" | "q4_0"} map of a file written by `imp quantize` (empty for other files). */
export function quantizedFormats(
  metadata: Readonly<Record<string, string>>,
  file: string,
): Record<string, string> {
  const raw = metadata[QUANT_METADATA_KEY];
  if (!raw) return {};
  try {
    return JSON.parse(raw) as Record<string, string>;
  } catch {
    throw new CheckpointError(`${file}: metadata "${QUANT_METADATA_KEY}" is not valid JSON`);
  }
}

/** Weights in memory: as stored, or widened / narrowed / quantized at load (`--dtype`). */
export type WeightDType = "auto" | "f32" | "f16" | "q8" | "q4";

/**
 * The in-memory format of one weight: vectors (norms, biases) stay f32; `auto` keeps the stored format; q8/q4 only
 * for matrices with whole rows of 32 (SigLIP's fc2 with 4304 inputs and conv kernels stay half).
 */
export function weightFormat(
  role: "vector" | "matrix" | "embedding" | string,
  shape: readonly number[],
  stored: DType,
  mode: WeightDType,
): DType {
  if (role === "vector") return "f32";
  const k = shape[shape.length - 1]!;
  const twoD = shape.length === 2;
  const half = stored === "f32" || stored === "q8" || stored === "q4" ? "f16" : stored;
  switch (mode) {
    case "auto":
      return stored;
    case "f32":
      return "f32";
    case "f16":
      return half;
    case "q8":
    case "q4":
      return twoD && k % QK === 0 ? mode : half;
  }
}
