/**
 * A GGUF reader, enough to check what the writer wrote (and to inspect other GGUF files): header, metadata,
 * tensor infos, data offsets, and one tensor's bytes at a time. Version 2 and 3, little-endian.
 *
 * @example
 * const g = readGguf("model.gguf");
 * g.get("general.architecture"); // "qwen2"
 * readTensorBytes(g, "token_embd.weight");
 */
import { FormatError } from "../../util/errors.js";
import { FileCursor } from "./bytes.js";
import {
  GGML_BLOCK,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  type GgmlTypeName,
  type GgufScalarType,
  GgufType,
  ggmlTypeName,
} from "./constants.js";
import type { GgufKv, GgufScalar } from "./writer.js";

export interface GgufTensorInfo {
  name: string;
  /** GGUF's ne: innermost dimension first. */
  ne: number[];
  /** Row-major shape (ne reversed), as the writer was given it. */
  shape: number[];
  /** The type's name when imp-ts knows it, else ggml's numeric code. */
  type: GgmlTypeName | number;
  /** Offset relative to the data section. */
  offset: number;
  /** Absolute file offset of the first byte. */
  fileOffset: number;
  /** Byte size, when the type is known. */
  byteLength: number | null;
}

export class GgufFile {
  constructor(
    readonly file: string,
    readonly version: number,
    readonly kvs: readonly GgufKv[],
    readonly tensors: readonly GgufTensorInfo[],
    readonly alignment: number,
    readonly dataOffset: number,
  ) {}

  /** A metadata value (arrays as arrays), or undefined. */
  get(key: string): GgufScalar | readonly GgufScalar[] | undefined {
    return this.kvs.find((e) => e.key === key)?.value;
  }

  tensor(name: string): GgufTensorInfo {
    const t = this.tensors.find((x) => x.name === name);
    if (!t) throw new FormatError(`${this.file} has no tensor ${name}`);
    return t;
  }
}

const TYPE_NAMES = Object.fromEntries(Object.entries(GgufType).map(([k, v]) => [v, k])) as Record<
  number,
  keyof typeof GgufType
>;

function readScalar(c: FileCursor, type: GgufScalarType, key: string): GgufScalar {
  switch (type) {
    case "u8":
      return c.u8();
    case "i8":
      return c.i8();
    case "u16":
      return c.u16();
    case "i16":
      return c.i16();
    case "u32":
      return c.u32();
    case "i32":
      return c.i32();
    case "f32":
      return c.f32();
    case "f64":
      return c.f64();
    case "u64":
      return c.u64();
    case "i64":
      return c.i64();
    case "bool": {
      const b = c.u8();
      if (b > 1) throw new FormatError(`${c.file}: metadata ${key} has bool value ${b}`);
      return b === 1;
    }
    case "string":
      return c.string(`metadata ${key}`);
  }
}

function typeOf(c: FileCursor, code: number, key: string): keyof typeof GgufType {
  const t = TYPE_NAMES[code];
  if (t === undefined) throw new FormatError(`${c.file}: metadata ${key} has unknown value type ${code}`);
  return t;
}

/** Reads the header, metadata and tensor infos (not the tensor data). */
export function readGguf(file: string): GgufFile {
  const c = new FileCursor(file);
  try {
    const magic = c.u32();
    if (magic !== GGUF_MAGIC) throw new FormatError(`${file} is not a GGUF file (bad magic)`);
    const version = c.u32();
    if (version !== 2 && version !== 3)
      throw new FormatError(`${file}: GGUF version ${version} is not supported (2, 3)`);
    const nTensors = c.size("tensor count");
    const nKv = c.size("metadata count");
    const kvs: GgufKv[] = [];
    for (let i = 0; i < nKv; i++) {
      const key = c.string("metadata key");
      const type = typeOf(c, c.u32(), key);
      if (type === "array") {
        const itemType = typeOf(c, c.u32(), key);
        if (itemType === "array") throw new FormatError(`${file}: nested array in ${key} is not supported`);
        const n = c.size(`length of ${key}`);
        const value: GgufScalar[] = new Array(n);
        for (let j = 0; j < n; j++) value[j] = readScalar(c, itemType, key);
        kvs.push({ key, type, itemType, value });
      } else {
        kvs.push({ key, type, value: readScalar(c, type, key) });
      }
    }
    const alignKv = kvs.find((e) => e.key === "general.alignment");
    const alignment = alignKv ? Number(alignKv.value) : GGUF_DEFAULT_ALIGNMENT;
    if (!Number.isInteger(alignment) || alignment < 1)
      throw new FormatError(`${file}: general.alignment ${String(alignKv?.value)} is not valid`);
    const infos: Omit<GgufTensorInfo, "fileOffset">[] = [];
    for (let i = 0; i < nTensors; i++) {
      const name = c.string("tensor name");
      const nDims = c.u32();
      if (nDims < 1 || nDims > 4) throw new FormatError(`${file}: tensor ${name} has ${nDims} dimensions`);
      const ne: number[] = [];
      for (let d = 0; d < nDims; d++) ne.push(c.size(`dimension of ${name}`));
      const code = c.u32();
      const offset = c.size(`offset of ${name}`);
      if (offset % alignment !== 0)
        throw new FormatError(`${file}: tensor ${name} offset ${offset} is not ${alignment}-aligned`);
      const type = ggmlTypeName(code) ?? code;
      const n = ne.reduce((a, b) => a * b, 1);
      const byteLength =
        typeof type === "string" ? (n / GGML_BLOCK[type].elements) * GGML_BLOCK[type].bytes : null;
      infos.push({ name, ne, shape: [...ne].reverse(), type, offset, byteLength });
    }
    const dataOffset = c.pos + ((alignment - (c.pos % alignment)) % alignment);
    const tensors = infos.map((t) => ({ ...t, fileOffset: dataOffset + t.offset }));
    return new GgufFile(file, version, kvs, tensors, alignment, dataOffset);
  } finally {
    c.close();
  }
}

/** The bytes of one tensor, as stored. */
export function readTensorBytes(g: GgufFile, name: string): Uint8Array {
  const t = g.tensor(name);
  if (t.byteLength === null) throw new FormatError(`${g.file}: tensor ${name} has an unknown type ${t.type}`);
  const c = new FileCursor(g.file);
  try {
    return c.readAt(t.fileOffset, t.byteLength);
  } finally {
    c.close();
  }
}
