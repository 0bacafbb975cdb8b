/**
 * The one checkpoint writer: a model folder written in the SAME layout as the checkpoint it came from. Every
 * stored tensor of the base is written under its own name, in its own file (shards and index kept), and the caller
 * says what goes into it, through the inverse of the loader's layout table (models/layout.ts): the parameters read
 * from each stored tensor, a whole tensor or the row range of a fused one (Phi-3 qkv_proj/gate_up_proj, imp-v1
 * Wqkv). So every command that loads the base loads the result. `imp quantize` (./save.ts) fills the tensors from
 * a loaded model, q8/q4 matrices included; `imp merge` and full fine-tuning (train/export-checkpoint.ts) from the
 * stored bytes with some parameters changed.
 *
 * Block-quantized tensors are stored as U8 [rows, row bytes] of GGUF Q8_0/Q4_0 blocks and named in their file's
 * metadata under QUANT_METADATA_KEY; a fused tensor's row ranges are whole rows, so its parts join row by row
 * whatever their format. The folder appears at once: it is built beside the target and renamed into place.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { f32ToBf16Array, f32ToF16Array } from "../formats/half.js";
import { QUANT_METADATA_KEY, quantizedFormats } from "../formats/quantized-file.js";
import type { StDtype, StEntry } from "../io/safetensors/index.js";
import { Checkpoint, INDEX_FILE, tensorByteLength, writeSafetensors } from "../io/safetensors/index.js";
import { detectLayout, resolveSource } from "../models/layout.js";
import { readModelConfig } from "../models/load.js";
import { MultimodalModel } from "../models/multimodal.js";
import { copyAtomic, writeAtomic, writeFolderAtomic, writeJsonAtomic } from "../util/atomic-file.js";
import { CheckpointError, UsageError } from "../util/errors.js";

/** One of our parameters read from a stored tensor: its name, shape and, for a fused tensor, its rows. */
export interface StoredPart {
  name: string;
  shape: readonly number[];
  /** First row and row count within the fused tensor. */
  rows?: [number, number];
}

/** A stored tensor of the base and the parameters read from it (none for a tensor the model does not use). */
export interface StoredTensor {
  entry: StEntry;
  parts: readonly StoredPart[];
  /** Its stored bytes. */
  read: () => Uint8Array;
}

/** What to store for a tensor: its dtype, shape and bytes, and its block format when quantized. */
export interface TensorContent {
  dtype: StDtype;
  shape: readonly number[];
  data: () => Uint8Array;
  quantized?: "q8_0" | "q4_0";
}

export interface CheckpointWriteOptions {
  /** The content of each stored tensor of the base; null keeps its stored bytes. Asked once per tensor, in order. */
  tensor: (t: StoredTensor) => TensorContent | null;
  /** Keys merged into config.json (copied byte for byte when they change nothing). */
  configPatch?: Record<string, unknown>;
  /**
   * A separate vision tower (LLaVA-1.5's CLIP folder) written too, as `clip-vision/` with the tensors the model
   * reads (through `tensor`), and config.json pointed at it. Otherwise the tower stays where config.json points
   * (copied along when it is a folder inside the base).
   */
  writeVisionTower?: boolean;
  /** Runs once the weights are written, before the folder is put in place: an error here leaves no folder. */
  verify?: () => void;
  /** Replace `out` if it exists (otherwise an existing, non-empty `out` is refused). */
  overwrite?: boolean;
}

/** Where a written vision tower goes, inside the new folder. */
export const VISION_TOWER_DIR = "clip-vision";

/** Writes a checkpoint folder `out` in the layout of `base`; returns the weight files written. */
export function writeCheckpointLike(base: string, out: string, opts: CheckpointWriteOptions): string[] {
  if (resolve(base) === resolve(out))
    throw new UsageError(`the output ${out} is the base folder; choose another`);
  if (!opts.overwrite && existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0))
    throw new UsageError(`${out} already exists and is not empty; choose a new folder or remove it`);
  const { config, visionFolder, towerFolder } = readModelConfig(base);
  const main = Checkpoint.open(base);
  const vision = opts.writeVisionTower && visionFolder ? Checkpoint.open(visionFolder) : null;
  try {
    const names = new Set(main.names());
    const layout = detectLayout(names);
    // Stored tensor → the parameters read from it, per file set.
    const partsOf = { main: new Map<string, StoredPart[]>(), vision: new Map<string, StoredPart[]>() };
    for (const [name, p] of new MultimodalModel(config).namedParameters()) {
      const src = resolveSource(layout, name, config.llm, (n) => names.has(n), visionFolder !== null);
      const list = partsOf[src.from].get(src.name) ?? [];
      list.push({ name, shape: p.shape, rows: src.rows });
      partsOf[src.from].set(src.name, list);
    }
    return writeFolderAtomic(out, (tmp) => {
      const files = writeWeights(main, tmp, partsOf.main, opts.tensor, false);
      opts.verify?.();
      copySmallFiles(base, tmp, files);
      const patch: Record<string, unknown> = { ...opts.configPatch };
      if (vision && visionFolder) {
        const dir = join(tmp, VISION_TOWER_DIR);
        mkdirSync(dir);
        const v = writeWeights(vision, dir, partsOf.vision, opts.tensor, true);
        copySmallFiles(visionFolder, dir, v);
        patch.mm_vision_tower = VISION_TOWER_DIR;
      } else if (visionFolder && isInside(visionFolder, base))
        copyFolder(visionFolder, join(tmp, relative(base, visionFolder)));
      // A SigLIP folder the checkpoint ships (Imp-v1.5-3B-196's) describes the tower: the copy needs it too.
      if (towerFolder && towerFolder !== visionFolder && isInside(towerFolder, base))
        copyFolder(towerFolder, join(tmp, relative(base, towerFolder)));
      const cfg = JSON.parse(readFileSync(join(base, "config.json"), "utf8")) as Record<string, unknown>;
      if (Object.entries(patch).some(([k, v]) => JSON.stringify(cfg[k]) !== JSON.stringify(v)))
        writeJsonAtomic(join(tmp, "config.json"), { ...cfg, ...patch });
      return files.names;
    });
  } finally {
    main.close();
    vision?.close();
  }
}

/**
 * Writes each file of `ckpt` into `dir` under its own name: its tensors in order, each as `tensor` says or as
 * stored; `onlyRead` leaves out the tensors no parameter reads (a CLIP folder's text tower).
 */
function writeWeights(
  ckpt: Checkpoint,
  dir: string,
  partsOf: ReadonlyMap<string, StoredPart[]>,
  tensor: CheckpointWriteOptions["tensor"],
  onlyRead: boolean,
): WrittenWeights {
  const names: string[] = [];
  const tensors = new Set<string>();
  let totalSize = 0;
  for (const file of ckpt.files) {
    const had = quantizedFormats(file.metadata, file.path);
    const quantized: Record<string, string> = {};
    const entries = file.entries
      .filter((entry) => !onlyRead || partsOf.has(entry.name))
      .map((entry) => {
        const read = () => ckpt.readBytes(entry.name);
        const content = tensor({ entry, parts: partsOf.get(entry.name) ?? [], read });
        // A tensor kept in its stored dtype keeps its block format; one written anew says its own.
        const format =
          content?.quantized ?? (!content || content.dtype === entry.dtype ? had[entry.name] : undefined);
        if (format) quantized[entry.name] = format;
        tensors.add(entry.name);
        totalSize += content ? tensorByteLength(content.dtype, content.shape)! : entry.byteLength;
        return {
          name: entry.name,
          dtype: content?.dtype ?? entry.dtype,
          shape: [...(content?.shape ?? entry.shape)],
          data: content?.data ?? read,
        };
      });
    if (entries.length === 0) continue;
    // The file's metadata, naming this file's quantized tensors (a base written by quantize had its own).
    const metadata: Record<string, string> = { ...file.metadata };
    delete metadata[QUANT_METADATA_KEY];
    if (Object.keys(quantized).length > 0) metadata[QUANT_METADATA_KEY] = JSON.stringify(quantized);
    writeSafetensors(join(dir, basename(file.path)), entries, metadata);
    names.push(basename(file.path));
  }
  return { names, tensors, totalSize };
}

interface WrittenWeights {
  /** The weight files, by name. */
  names: string[];
  /** The tensors written. */
  tensors: ReadonlySet<string>;
  totalSize: number;
}

/**
 * config.json, the tokenizer and every other file of the base but its weights; the index keeps the weight map of
 * the tensors written and gets their total size (copied byte for byte when neither changed).
 */
function copySmallFiles(base: string, tmp: string, written: WrittenWeights): void {
  for (const f of readdirSync(base)) {
    const p = join(base, f);
    if (!statSync(p).isFile() || (f.endsWith(".safetensors") && f !== INDEX_FILE)) continue;
    if (f !== INDEX_FILE) {
      copyAtomic(p, join(tmp, f));
      continue;
    }
    const text = readFileSync(p, "utf8");
    const index = JSON.parse(text) as {
      metadata?: Record<string, unknown>;
      weight_map?: Record<string, string>;
    };
    const map = Object.entries(index.weight_map ?? {});
    const kept = map.filter(([name]) => written.tensors.has(name));
    if (index.metadata?.total_size === written.totalSize && kept.length === map.length)
      writeAtomic(join(tmp, f), text);
    else
      writeJsonAtomic(join(tmp, f), {
        ...index,
        metadata: { ...index.metadata, total_size: written.totalSize },
        weight_map: Object.fromEntries(kept),
      });
  }
}

function isInside(dir: string, parent: string): boolean {
  const r = relative(resolve(parent), resolve(dir));
  return r !== "" && !r.startsWith("..") && !r.startsWith("/");
}

function copyFolder(from: string, to: string): void {
  for (const f of readdirSync(from, { recursive: true }) as string[]) {
    const p = join(from, f);
    if (statSync(p).isDirectory()) continue;
    mkdirSync(dirname(join(to, f)), { recursive: true });
    copyAtomic(p, join(to, f));
  }
}

/**
 * A stored tensor's bytes from the bytes of the parameters read from it: the one parameter's as they are, or a
 * fused tensor's parts joined row by row in row order (every row covered once).
 */
export function joinRows(
  stored: StEntry,
  parts: ReadonlyArray<{ part: StoredPart; bytes: Uint8Array }>,
): Uint8Array {
  if (parts.length === 1 && !parts[0]!.part.rows) return parts[0]!.bytes;
  const rows = stored.shape[0]!;
  const sorted = [...parts].sort((a, b) => (a.part.rows?.[0] ?? 0) - (b.part.rows?.[0] ?? 0));
  const rowBytes = sorted[0]!.bytes.byteLength / (sorted[0]!.part.rows?.[1] ?? rows);
  const out = new Uint8Array(rows * rowBytes);
  let next = 0;
  for (const { part, bytes } of sorted) {
    const [start, count] = part.rows ?? [0, rows];
    if (start !== next || bytes.byteLength !== count * rowBytes)
      throw new CheckpointError(
        `"${stored.name}": its parts do not tile its ${rows} rows (${part.name} at rows ${start}..${start + count})`,
      );
    out.set(bytes, start * rowBytes);
    next = start + count;
  }
  if (next !== rows)
    throw new CheckpointError(`"${stored.name}": its parts cover ${next} of its ${rows} rows`);
  return out;
}

/** f32 values as the bytes of a stored float dtype (rounded to nearest even for F16/BF16). */
export function storedFromF32(values: Float32Array, dtype: "F32" | "F16" | "BF16"): Uint8Array {
  if (dtype === "F32") return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const h = new Uint16Array(values.length);
  if (dtype === "BF16") f32ToBf16Array(values, h);
  else f32ToF16Array(values, h);
  return new Uint8Array(h.buffer);
}
