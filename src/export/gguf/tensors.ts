/**
 * From our parameters to GGUF tensors: a plan entry names the GGUF tensor, the parameters whose rows it is
 * made of (several for llama.cpp's fused qkv / gate_up), its storage type, and an optional rotary row
 * permutation. Bytes are produced when the writer asks, one GGUF tensor at a time.
 *
 * Our q8/q4 blocks are GGUF's Q8_0/Q4_0 blocks (formats/blocks.ts), one row = K/32 whole blocks, so fusing and
 * permuting rows are byte moves of whole rows, the same for every storage type.
 */
import type { DType } from "../../formats/dtype.js";
import { cast } from "../../tensor/ops/convert.js";
import { ShapeError } from "../../util/errors.js";
import type { GgmlTypeName } from "./constants.js";
import type { ParamSource } from "./params.js";
import type { GgufTensor } from "./writer.js";

/** What a quantization choice does to one tensor, by kind. */
export type TensorKind =
  /** 2-D weight used in a matrix product, or an embedding table: quantizable. */
  | "matrix"
  /** Norm weights, biases, class embeddings: always F32, as llama.cpp's converter keeps them. */
  | "vector"
  /** A convolution kernel: ggml's im2col path reads F16 or F32 only. */
  | "conv"
  /** Position embeddings: kept in half precision (the legacy LLaVA converter does the same). */
  | "table";

export interface PlanEntry {
  /** GGUF tensor name. */
  name: string;
  /** Our parameter names, concatenated along rows in this order. */
  parts: string[];
  kind: TensorKind;
  /** LLaMA's q/k weights: regroup each head's rows from halves (HF) to interleaved pairs (llama.cpp). */
  permuteHeads?: number;
}

/** The export's weight format. */
export type GgufQuant = "f32" | "f16" | "q8_0" | "q4_0";
export const GGUF_QUANTS: readonly GgufQuant[] = ["f32", "f16", "q8_0", "q4_0"];

const DTYPE_OF: Record<GgmlTypeName, DType> = {
  F32: "f32",
  F16: "f16",
  BF16: "bf16",
  Q8_0: "q8",
  Q4_0: "q4",
};

/** The GGUF type of a tensor of this kind and shape under a quantization choice. */
export function tensorType(kind: TensorKind, shape: readonly number[], quant: GgufQuant): GgmlTypeName {
  if (kind === "vector" || quant === "f32") return "F32";
  if (kind !== "matrix" || quant === "f16") return "F16";
  // Q8_0/Q4_0 rows are whole 32-element blocks; other matrices (SigLIP's fc2 has 4304 inputs) stay F16,
  // as the loader does with --dtype q8/q4.
  return shape[shape.length - 1]! % 32 === 0 ? (quant === "q8_0" ? "Q8_0" : "Q4_0") : "F16";
}

/**
 * Rotary row order: within each head the HF layout rotates channel i with i + d/2 (rotate_half); llama.cpp's
 * `llama` arch rotates adjacent pairs (2i, 2i+1). Row 2i+j of a head takes old row j·d/2 + i.
 */
export function permuteRotaryRows(bytes: Uint8Array, rows: number, heads: number): Uint8Array {
  if (rows % heads !== 0 || (rows / heads) % 2 !== 0)
    throw new ShapeError(`cannot permute ${rows} rows into ${heads} heads of even size`);
  const rowBytes = bytes.byteLength / rows;
  const d = rows / heads;
  const out = new Uint8Array(bytes.byteLength);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < d / 2; i++)
      for (let j = 0; j < 2; j++) {
        const from = (h * d + j * (d / 2) + i) * rowBytes;
        out.set(bytes.subarray(from, from + rowBytes), (h * d + 2 * i + j) * rowBytes);
      }
  return out;
}

/** The GGUF tensor for a plan entry, its data read from `src` when written. */
export function planTensor(src: ParamSource, e: PlanEntry, quant: GgufQuant): GgufTensor {
  const shapes = e.parts.map((p) => {
    const s = src.shapes.get(p);
    if (!s) throw new ShapeError(`GGUF ${e.name}: the model has no parameter ${p}`);
    return s;
  });
  const tail = shapes[0]!.slice(1);
  for (const s of shapes)
    if (s.length !== shapes[0]!.length || s.slice(1).some((v, i) => v !== tail[i]))
      throw new ShapeError(`GGUF ${e.name}: parts [${shapes.map((x) => `[${x}]`).join(", ")}] do not stack`);
  const shape = [shapes.reduce((a, s) => a + s[0]!, 0), ...tail];
  const type = tensorType(e.kind, shape, quant);
  return {
    name: e.name,
    shape,
    type,
    data: () => {
      const chunks = e.parts.map((p) => {
        const t = src.read(p);
        try {
          const out = cast(t, DTYPE_OF[type]);
          try {
            return out.toBytes();
          } finally {
            out.dispose();
          }
        } finally {
          t.dispose();
        }
      });
      let bytes = chunks.length === 1 ? chunks[0]! : concat(chunks);
      if (e.permuteHeads) bytes = permuteRotaryRows(bytes, shape[0]!, e.permuteHeads);
      return bytes;
    },
  };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.byteLength, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}
