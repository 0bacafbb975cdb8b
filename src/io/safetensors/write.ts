/**
 * Writing one safetensors file, atomically (util/atomic-file.ts) and streamed: the header, then each tensor's bytes
 * straight from the caller's buffer, never gathered into one big buffer.
 *
 * The layout matches the reference writer (huggingface/safetensors `tensor.rs`, `prepare`): tensors sorted
 * by dtype alignment, largest first (ST_DTYPES order, reversed), then by name as UTF-8 bytes; offsets
 * packed with no gaps; compact JSON with "__metadata__" first when given, then the tensors in that order;
 * the JSON padded with spaces to a multiple of 8 bytes so that the data section is 8-byte aligned.
 */

import { type PendingFile, writeFileAtomic } from "../../util/atomic-file.js";
import { CheckpointError, ImpError } from "../../util/errors.js";
import { dtypeRank, isStDtype, ST_DTYPES, type StDtype, shapeProblem, tensorByteLength } from "./dtype.js";
import { MAX_HEADER_BYTES } from "./header.js";

/** A tensor to write. `data` may be a function, called once when the tensor's turn comes, so that a
 * caller can produce tensors one at a time (e.g. quantize into a scratch buffer) instead of all at once. */
export interface StWriteEntry {
  readonly name: string;
  readonly dtype: StDtype;
  readonly shape: readonly number[];
  readonly data: Uint8Array | (() => Uint8Array);
}

export interface WriteOptions {
  /** Largest single write, in bytes (tests use small values). */
  readonly chunkBytes?: number;
}

/** A validated entry with its place in the file. */
export interface PlannedEntry {
  readonly entry: StWriteEntry;
  readonly byteLength: number;
  readonly begin: number;
}

export interface FilePlan {
  /** Entries in file order. */
  readonly entries: readonly PlannedEntry[];
  /** The 8 length bytes followed by the padded JSON header. */
  readonly head: Uint8Array;
  /** Total size of the file. */
  readonly size: number;
}

const utf8 = new TextEncoder();

/** Checks that `metadata` is an object of strings; `what` names the file for the message. */
export function checkMetadata(metadata: unknown, what: string): asserts metadata is Record<string, string> {
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new CheckpointError(
      `${what}: metadata must be an object of strings, got ${JSON.stringify(metadata)}`,
    );
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") {
      throw new CheckpointError(
        `${what}: metadata key ${JSON.stringify(k)} is ${JSON.stringify(v)}, not a string`,
      );
    }
  }
}

/** Validates one entry and returns its byte length; `file` names the target for the message. */
export function checkEntry(e: StWriteEntry, file: string): number {
  const where = `${file}: tensor ${JSON.stringify(e.name)}`;
  if (typeof e.name !== "string")
    throw new CheckpointError(`${file}: tensor name ${JSON.stringify(e.name)} is not a string`);
  if (e.name === "__metadata__") throw new CheckpointError(`${where}: the name is reserved for the metadata`);
  if (!isStDtype(e.dtype)) {
    throw new CheckpointError(
      `${where}: unknown dtype ${JSON.stringify(e.dtype)} (known: ${ST_DTYPES.join(", ")})`,
    );
  }
  const bad = shapeProblem(e.shape);
  if (bad !== null) throw new CheckpointError(`${where}: ${bad}`);
  const n = tensorByteLength(e.dtype, e.shape);
  if (n === null) throw new CheckpointError(`${where}: shape ${JSON.stringify(e.shape)} is too large`);
  if (typeof e.data !== "function") checkData(e, e.data, n, file);
  return n;
}

function checkData(e: StWriteEntry, data: unknown, n: number, file: string): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new CheckpointError(`${file}: tensor ${JSON.stringify(e.name)}: data is not a Uint8Array`);
  }
  if (data.byteLength !== n) {
    throw new CheckpointError(
      `${file}: tensor ${JSON.stringify(e.name)}: data has ${data.byteLength} bytes, but shape ` +
        `${JSON.stringify(e.shape)} of ${e.dtype} needs ${n}`,
    );
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Validates the entries, orders them as the reference writer does and builds the header. */
export function planFile(
  entries: Iterable<StWriteEntry>,
  metadata: Record<string, string> | undefined,
  file: string,
): FilePlan {
  if (metadata !== undefined) checkMetadata(metadata, file);
  const seen = new Set<string>();
  const items: { entry: StWriteEntry; byteLength: number; key: Uint8Array }[] = [];
  for (const entry of entries) {
    const byteLength = checkEntry(entry, file);
    if (seen.has(entry.name))
      throw new CheckpointError(`${file}: tensor ${JSON.stringify(entry.name)} is given twice`);
    seen.add(entry.name);
    items.push({ entry, byteLength, key: utf8.encode(entry.name) });
  }
  items.sort((a, b) => dtypeRank(b.entry.dtype) - dtypeRank(a.entry.dtype) || compareBytes(a.key, b.key));

  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  const planned: PlannedEntry[] = [];
  let offset = 0;
  for (const { entry, byteLength } of items) {
    const end = offset + byteLength;
    parts.push(
      `${JSON.stringify(entry.name)}:{"dtype":"${entry.dtype}","shape":${JSON.stringify(entry.shape)},` +
        `"data_offsets":[${offset},${end}]}`,
    );
    planned.push({ entry, byteLength, begin: offset });
    offset = end;
  }
  const json = utf8.encode(`{${parts.join(",")}}`);
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded > MAX_HEADER_BYTES) {
    throw new CheckpointError(
      `${file}: the header would be ${padded} bytes, over the ${MAX_HEADER_BYTES}-byte limit readers accept`,
    );
  }
  const head = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  return { entries: planned, head, size: head.byteLength + offset };
}

/** Writes a planned file's content into `out` (header, then each tensor in order). */
export function fillFile(out: PendingFile, plan: FilePlan): void {
  out.write(plan.head);
  for (const { entry, byteLength } of plan.entries) {
    try {
      const data = typeof entry.data === "function" ? entry.data() : entry.data;
      checkData(entry, data, byteLength, out.target);
      out.write(data);
    } catch (e) {
      if (e instanceof ImpError) throw e;
      throw new CheckpointError(
        `writing ${out.target} failed at tensor ${JSON.stringify(entry.name)}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
}

/**
 * Writes `entries` to `path` as one safetensors file, atomically: the old file, if any, stays in place
 * until the new one is complete and on disk. Each entry's data must stay valid until this returns.
 * @example
 * writeSafetensors("out/model.safetensors", [
 *   { name: "w", dtype: "F32", shape: [2, 2], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) },
 * ], { format: "pt" });
 */
export function writeSafetensors(
  path: string,
  entries: Iterable<StWriteEntry>,
  metadata?: Record<string, string>,
  options: WriteOptions = {},
): void {
  try {
    const plan = planFile(entries, metadata, path);
    writeFileAtomic(path, (out) => fillFile(out, plan), options.chunkBytes);
  } catch (e) {
    if (e instanceof ImpError) throw e;
    throw new CheckpointError(`writing ${path} failed: ${(e as Error).message}`, { cause: e });
  }
}
