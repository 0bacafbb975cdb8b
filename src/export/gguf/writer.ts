/**
 * The GGUF writer: metadata of every GGUF value type, tensor infos, aligned data, written as one stream into a
 * temporary file that is renamed over the target only when complete (util/atomic-file.ts). Tensor bytes
 * are asked for one tensor at a time, so a model is never whole in memory. Format: ./constants.ts.
 *
 * @example
 * writeGguf("out/model.gguf", [kv.string("general.architecture", "qwen2")], [
 *   { name: "token_embd.weight", shape: [vocab, hidden], type: "F16", data: () => bytes },
 * ]);
 */
import { writeFileAtomic } from "../../util/atomic-file.js";
import { ShapeError, UsageError } from "../../util/errors.js";
import { ByteWriter } from "./bytes.js";
import {
  GGML_BLOCK,
  GGML_QUANT_VERSION,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  GgmlType,
  type GgmlTypeName,
  type GgufScalarType,
  GgufType,
} from "./constants.js";

export type GgufScalar = number | bigint | boolean | string;

/** One metadata entry: a scalar, or an array of one scalar type (nested arrays are not needed). */
export type GgufKv =
  | { key: string; type: GgufScalarType; value: GgufScalar }
  | { key: string; type: "array"; itemType: GgufScalarType; value: readonly GgufScalar[] };

/** Constructors for metadata entries. */
export const kv = {
  u8: (key: string, value: number): GgufKv => ({ key, type: "u8", value }),
  u32: (key: string, value: number): GgufKv => ({ key, type: "u32", value }),
  i32: (key: string, value: number): GgufKv => ({ key, type: "i32", value }),
  u64: (key: string, value: number | bigint): GgufKv => ({ key, type: "u64", value }),
  f32: (key: string, value: number): GgufKv => ({ key, type: "f32", value }),
  f64: (key: string, value: number): GgufKv => ({ key, type: "f64", value }),
  bool: (key: string, value: boolean): GgufKv => ({ key, type: "bool", value }),
  string: (key: string, value: string): GgufKv => ({ key, type: "string", value }),
  array: (key: string, itemType: GgufScalarType, value: readonly GgufScalar[]): GgufKv => ({
    key,
    type: "array",
    itemType,
    value,
  }),
};

export interface GgufTensor {
  /** GGUF name, e.g. `blk.0.attn_q.weight` (at most 63 bytes: ggml's GGML_MAX_NAME with its terminator). */
  name: string;
  /** Row-major shape as in PyTorch ([out, in] for a matrix); written reversed as GGUF's ne. */
  shape: readonly number[];
  type: GgmlTypeName;
  /** The tensor's bytes, asked for when it is written. */
  data: () => Uint8Array;
}

export interface GgufWriteResult {
  file: string;
  bytes: number;
  tensors: number;
  /** Offset of the data section. */
  dataOffset: number;
}

export interface GgufWriteOptions {
  alignment?: number;
}

const MAX_NAME_BYTES = 63;

/** Bytes a tensor of this shape and type takes; quantized types need rows of whole blocks. */
export function ggmlByteLength(name: string, shape: readonly number[], type: GgmlTypeName): number {
  const block = GGML_BLOCK[type];
  const n = shape.reduce((a, b) => a * b, 1);
  const row = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  if (row % block.elements !== 0)
    throw new ShapeError(
      `GGUF tensor ${name} [${shape}]: ${type} needs rows of whole ${block.elements}-element blocks`,
    );
  return (n / block.elements) * block.bytes;
}

function scalar(w: ByteWriter, type: GgufScalarType, v: GgufScalar, key: string): void {
  const num = (): number => {
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new UsageError(`GGUF metadata ${key}: ${type} needs a finite number, got ${String(v)}`);
    return v;
  };
  const int = (lo: number, hi: number): number => {
    const n = num();
    if (!Number.isInteger(n) || n < lo || n > hi)
      throw new UsageError(`GGUF metadata ${key}: ${n} does not fit ${type}`);
    return n;
  };
  switch (type) {
    case "u8":
      w.u8(int(0, 0xff));
      break;
    case "i8":
      w.i8(int(-0x80, 0x7f));
      break;
    case "u16":
      w.u16(int(0, 0xffff));
      break;
    case "i16":
      w.i16(int(-0x8000, 0x7fff));
      break;
    case "u32":
      w.u32(int(0, 0xffffffff));
      break;
    case "i32":
      w.i32(int(-0x80000000, 0x7fffffff));
      break;
    case "f32":
      w.f32(num());
      break;
    case "f64":
      w.f64(num());
      break;
    case "u64":
    case "i64": {
      const lo = type === "u64" ? 0 : -Number.MAX_SAFE_INTEGER;
      const b = typeof v === "bigint" ? v : BigInt(int(lo, Number.MAX_SAFE_INTEGER));
      if (type === "u64") w.u64(b);
      else w.i64(b);
      break;
    }
    case "bool":
      if (typeof v !== "boolean") throw new UsageError(`GGUF metadata ${key}: bool needs true or false`);
      w.u8(v ? 1 : 0);
      break;
    case "string":
      if (typeof v !== "string") throw new UsageError(`GGUF metadata ${key}: string needs a string`);
      w.string(v);
      break;
  }
}

/** Encodes the metadata entries (without the header counts). */
export function encodeKvs(w: ByteWriter, kvs: readonly GgufKv[]): void {
  for (const e of kvs) {
    w.string(e.key);
    if (e.type === "array") {
      w.u32(GgufType.array);
      w.u32(GgufType[e.itemType]);
      w.u64(e.value.length);
      for (const v of e.value) scalar(w, e.itemType, v, e.key);
    } else {
      w.u32(GgufType[e.type]);
      scalar(w, e.type, e.value, e.key);
    }
  }
}

const pad = (n: number, a: number) => (a - (n % a)) % a;

/**
 * Writes a GGUF file atomically. `general.alignment` is added when missing (and must agree with
 * `opts.alignment` when given); `general.quantization_version` is added when a tensor is block-quantized.
 */
export function writeGguf(
  file: string,
  kvs: readonly GgufKv[],
  tensors: readonly GgufTensor[],
  opts: GgufWriteOptions = {},
): GgufWriteResult {
  const alignment = opts.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment < 8 || alignment % 8 !== 0)
    throw new UsageError(`GGUF alignment must be a positive multiple of 8, got ${alignment}`);
  const all = [...kvs];
  const keys = new Set<string>();
  for (const e of all) {
    if (keys.has(e.key)) throw new UsageError(`GGUF metadata key ${e.key} is given twice`);
    keys.add(e.key);
  }
  const given = all.find((e) => e.key === "general.alignment");
  if (!given) all.push(kv.u32("general.alignment", alignment));
  else if (given.value !== alignment)
    throw new UsageError(`general.alignment ${String(given.value)} differs from the alignment ${alignment}`);
  const quantized = tensors.some((t) => t.type === "Q8_0" || t.type === "Q4_0");
  if (quantized && !keys.has("general.quantization_version"))
    all.push(kv.u32("general.quantization_version", GGML_QUANT_VERSION));

  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(all.length);
  encodeKvs(w, all);

  const names = new Set<string>();
  const sizes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new UsageError(`GGUF tensor ${t.name} is given twice`);
    names.add(t.name);
    if (new TextEncoder().encode(t.name).length > MAX_NAME_BYTES)
      throw new UsageError(`GGUF tensor name ${t.name} is longer than ${MAX_NAME_BYTES} bytes`);
    if (t.shape.length < 1 || t.shape.length > 4 || t.shape.some((s) => !Number.isInteger(s) || s < 1))
      throw new ShapeError(`GGUF tensor ${t.name}: shape [${t.shape}] must have 1 to 4 positive dimensions`);
    const size = ggmlByteLength(t.name, t.shape, t.type);
    sizes.push(size);
    w.string(t.name);
    w.u32(t.shape.length);
    for (let i = t.shape.length - 1; i >= 0; i--) w.u64(t.shape[i]!);
    w.u32(GgmlType[t.type]);
    w.u64(offset);
    offset += size + pad(size, alignment);
  }
  w.zeros(pad(w.length, alignment));
  const dataOffset = w.length;

  let total = 0;
  writeFileAtomic(file, (f) => {
    f.write(w.result());
    const zeros = new Uint8Array(alignment);
    tensors.forEach((t, i) => {
      const bytes = t.data();
      if (bytes.byteLength !== sizes[i])
        throw new ShapeError(
          `GGUF tensor ${t.name} [${t.shape}] ${t.type}: expected ${sizes[i]} bytes, got ${bytes.byteLength}`,
        );
      f.write(bytes);
      f.write(zeros.subarray(0, pad(bytes.byteLength, alignment)));
    });
    total = f.position;
  });
  return { file, bytes: total, tensors: tensors.length, dataOffset };
}
