/**
 * GGUF's numeric codes (ggml's `gguf.h` / `ggml.h`, gguf-py's `constants.py`), as far as imp-ts writes them:
 * metadata value types, tensor element types, llama.cpp's token types and file types.
 *
 * File layout (version 3, little-endian):
 *   "GGUF" u32 version · u64 tensor count · u64 metadata count
 *   metadata: string key · u32 value type · value          (string = u64 byte length + UTF-8 bytes)
 *   tensor infos: string name · u32 n_dims · u64 ne[n_dims] · u32 ggml type · u64 offset in the data section
 *   padding to `general.alignment` (default 32) · data section (each tensor at an aligned offset)
 * ne[0] is the innermost (contiguous) dimension, so a row-major [out, in] matrix is stored with ne = [in, out].
 */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types (enum gguf_type). */
export const GgufType = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;
export type GgufScalarType = Exclude<keyof typeof GgufType, "array">;

/** Tensor element types (enum ggml_type) that imp-ts writes and reads. */
export const GgmlType = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, BF16: 30 } as const;
export type GgmlTypeName = keyof typeof GgmlType;

/** Elements per block and bytes per block of each tensor type (dense types: block of 1). */
export const GGML_BLOCK: Record<GgmlTypeName, { elements: number; bytes: number }> = {
  F32: { elements: 1, bytes: 4 },
  F16: { elements: 1, bytes: 2 },
  BF16: { elements: 1, bytes: 2 },
  Q8_0: { elements: 32, bytes: 34 },
  Q4_0: { elements: 32, bytes: 18 },
};

export function ggmlTypeName(code: number): GgmlTypeName | undefined {
  for (const [name, c] of Object.entries(GgmlType)) if (c === code) return name as GgmlTypeName;
  return undefined;
}

/** llama.cpp's token attributes in `tokenizer.ggml.token_type` (SentencePiece's piece types). */
export const TokenType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** `general.file_type` (enum llama_ftype): what most of the weights are. */
export const FileType = {
  ALL_F32: 0,
  MOSTLY_F16: 1,
  MOSTLY_Q4_0: 2,
  MOSTLY_Q8_0: 7,
  MOSTLY_BF16: 32,
} as const;

/** ggml's block-quantization format version (GGML_QNT_VERSION), written as `general.quantization_version`. */
export const GGML_QUANT_VERSION = 2;
