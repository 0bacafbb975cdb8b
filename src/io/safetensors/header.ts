/**
 * The safetensors header: parsing and validation, separate from any file handle so that it can be tested
 * on bytes. Layout of a file: 8-byte little-endian u64 N, N bytes of UTF-8 JSON, then the data section.
 * The JSON maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the
 * data section), plus an optional "__metadata__" map of string to string.
 *
 * The rules follow the reference reader (huggingface/safetensors `safetensors/src/tensor.rs`,
 * `read_metadata` and `Metadata::validate`), in our words:
 *  - the file holds at least the 8 length bytes;
 *  - N is at most 100,000,000 (the reference's cap), and 8 + N fits in the file;
 *  - the header is valid UTF-8 and valid JSON, and the JSON is an object;
 *  - "__metadata__", when present and not null, maps strings to strings;
 *  - every other entry names a known dtype, a shape of non-negative integers, and two non-negative integer
 *    offsets (unknown extra fields are ignored, as the reference's deserializer ignores them);
 *  - element count × element size does not overflow (here: stays below 2^53) and equals end − begin;
 *  - sorted by (begin, end), the tensors tile the data section: the first begins at 0, each begins where
 *    the previous ended (no gaps, no overlaps), end ≥ begin;
 *  - the last end is exactly the data section's length (no truncation, no trailing bytes).
 * Beyond the reference we name the offending file and tensor in every message.
 */
import { CheckpointError } from "../../util/errors.js";
import { isStDtype, ST_DTYPES, type StDtype, shapeProblem, tensorByteLength } from "./dtype.js";

/** The reference reader's cap on the JSON header, in bytes. */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a safetensors file: where its bytes are and how to read them. */
export interface StEntry {
  readonly name: string;
  readonly dtype: StDtype;
  readonly shape: readonly number[];
  /** Absolute position of the first byte in the file. */
  readonly byteOffset: number;
  readonly byteLength: number;
  /** Path of the file that holds it. */
  readonly file: string;
}

export interface StHeader {
  /** Tensors in file order (by offset). */
  readonly entries: readonly StEntry[];
  /** `__metadata__`, or an empty object when the file has none. */
  readonly metadata: Readonly<Record<string, string>>;
  /** 8 + N: where the data section starts. */
  readonly dataStart: number;
}

const HINT = "the file is corrupt, truncated or not a safetensors file; re-download or re-export it";

export function headerError(file: string, tensor: string | null, problem: string): CheckpointError {
  const where = tensor === null ? file : `${file}: tensor ${JSON.stringify(tensor)}`;
  return new CheckpointError(`${where}: ${problem}; ${HINT}`);
}

/**
 * Reads N from the 8 length bytes and checks it against the cap and the file size.
 * `prefix` holds the file's first min(8, fileSize) bytes.
 */
export function parseHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8) {
    throw headerError(file, null, `the file has ${fileSize} bytes, fewer than the 8-byte header length`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw headerError(file, null, `header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const len = Number(n);
  if (8 + len > fileSize) {
    throw headerError(file, null, `header length ${len} runs past the end of the ${fileSize}-byte file`);
  }
  return len;
}

// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: keep a BOM so JSON.parse refuses it, as serde does.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isOffset(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Parses and validates the N header bytes of a file of `fileSize` bytes. */
export function parseHeader(json: Uint8Array, fileSize: number, file: string): StHeader {
  const dataStart = 8 + json.byteLength;
  const dataLength = fileSize - dataStart;
  let text: string;
  try {
    text = utf8.decode(json);
  } catch {
    throw headerError(file, null, "the header is not valid UTF-8");
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw headerError(file, null, `the header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(root)) {
    throw headerError(
      file,
      null,
      `the header is ${Array.isArray(root) ? "an array" : typeof root}, not a JSON object`,
    );
  }

  let metadata: Record<string, string> = {};
  const entries: StEntry[] = [];
  for (const [name, value] of Object.entries(root)) {
    if (name === "__metadata__") {
      metadata = parseMetadata(value, file);
      continue;
    }
    entries.push(parseEntry(name, value, dataStart, dataLength, file));
  }

  // The reference sorts by (begin, end): older writers ordered tensors by name, or any order at all.
  entries.sort((a, b) => a.byteOffset - b.byteOffset || a.byteLength - b.byteLength);
  let end = dataStart;
  let prev: StEntry | null = null;
  for (const e of entries) {
    if (e.byteOffset > end) {
      const after = prev === null ? "the start of the data section" : `tensor ${JSON.stringify(prev.name)}`;
      throw headerError(file, e.name, `${e.byteOffset - end} bytes after ${after} belong to no tensor`);
    }
    if (e.byteOffset < end) {
      throw headerError(file, e.name, `its bytes overlap those of tensor ${JSON.stringify(prev!.name)}`);
    }
    end = e.byteOffset + e.byteLength;
    prev = e;
  }
  if (end !== fileSize) {
    // parseEntry already refused any tensor past the end, so only trailing bytes are left to refuse.
    throw headerError(file, null, `${fileSize - end} bytes after the last tensor belong to no tensor`);
  }
  return { entries, metadata: Object.freeze(metadata), dataStart };
}

function parseMetadata(value: unknown, file: string): Record<string, string> {
  if (value === null) return {};
  if (!isPlainObject(value)) {
    throw headerError(file, null, `"__metadata__" is ${JSON.stringify(value)}, not an object of strings`);
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw headerError(
        file,
        null,
        `"__metadata__" key ${JSON.stringify(k)} is ${JSON.stringify(v)}, not a string`,
      );
    }
  }
  // fromEntries defines own properties, so a key "__proto__" stays a key.
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function parseEntry(
  name: string,
  value: unknown,
  dataStart: number,
  dataLength: number,
  file: string,
): StEntry {
  if (!isPlainObject(value)) {
    throw headerError(file, name, `entry is ${JSON.stringify(value)}, not {dtype, shape, data_offsets}`);
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isStDtype(dtype)) {
    throw headerError(file, name, `unknown dtype ${JSON.stringify(dtype)} (known: ${ST_DTYPES.join(", ")})`);
  }
  const bad = shapeProblem(shape);
  if (bad !== null) throw headerError(file, name, bad);
  const dims = shape as number[];
  if (!Array.isArray(offsets) || offsets.length !== 2 || !isOffset(offsets[0]) || !isOffset(offsets[1])) {
    throw headerError(
      file,
      name,
      `data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers [begin, end]`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw headerError(file, name, `data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) {
    throw headerError(
      file,
      name,
      `data_offsets [${begin}, ${end}] run past the end of the ${dataLength}-byte data section`,
    );
  }
  const need = tensorByteLength(dtype, dims);
  if (need === null) {
    throw headerError(file, name, `shape ${JSON.stringify(dims)} of ${dtype} overflows the size computation`);
  }
  if (end - begin !== need) {
    throw headerError(
      file,
      name,
      `data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but shape ${JSON.stringify(dims)} ` +
        `of ${dtype} needs ${need}`,
    );
  }
  return Object.freeze({
    name,
    dtype,
    shape: Object.freeze(dims.slice()),
    byteOffset: dataStart + begin,
    byteLength: need,
    file,
  });
}
