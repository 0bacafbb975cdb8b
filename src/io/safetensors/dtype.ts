/**
 * The element types a safetensors header may name, with their byte sizes.
 * Reference: huggingface/safetensors `safetensors/src/tensor.rs` (enum `Dtype`).
 *
 * The list is ordered as the reference orders its enum: by increasing alignment. The writer sorts tensors
 * by this rank, largest first, so that every tensor's data starts at an offset that is a multiple of its
 * element size (the header is padded to 8 bytes for the same reason).
 * Newer sub-byte and exotic types of the reference (F4, F6_*, F8_E8M0, C64) are deliberately not accepted:
 * nothing in imp reads them, and refusing them early gives a clearer error than a wrong load later.
 */

export const ST_DTYPES = [
  "BOOL",
  "U8",
  "I8",
  "F8_E5M2",
  "F8_E4M3",
  "I16",
  "U16",
  "F16",
  "BF16",
  "I32",
  "U32",
  "F32",
  "F64",
  "I64",
  "U64",
] as const;

/** A safetensors element type, spelled as in the file header. */
export type StDtype = (typeof ST_DTYPES)[number];

const SIZES: Readonly<Record<StDtype, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

const RANK: ReadonlyMap<string, number> = new Map(ST_DTYPES.map((d, i) => [d, i]));

export function isStDtype(s: unknown): s is StDtype {
  return typeof s === "string" && RANK.has(s);
}

/** Bytes per element. */
export function dtypeSize(d: StDtype): number {
  return SIZES[d];
}

/** Position in the reference's alignment order (higher = written first). */
export function dtypeRank(d: StDtype): number {
  return RANK.get(d)!;
}

/** Elements in a tensor of this shape (1 for a 0-d scalar), or null past 2^53 (no exact integer). */
export function numel(shape: readonly number[]): number | null {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return null;
  }
  return n;
}

/** Bytes a tensor of this dtype and shape occupies, or null when that overflows 2^53. */
export function tensorByteLength(dtype: StDtype, shape: readonly number[]): number | null {
  const n = numel(shape);
  if (n === null) return null;
  const bytes = n * SIZES[dtype];
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** A shape is a list of non-negative integers; returns a description of what is wrong, or null. */
export function shapeProblem(shape: unknown): string | null {
  if (!Array.isArray(shape)) return `shape ${JSON.stringify(shape)} is not a list`;
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      return `shape ${JSON.stringify(shape)} has ${JSON.stringify(d)}, not a non-negative integer`;
    }
  }
  return null;
}
