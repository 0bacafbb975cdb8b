/**
 * Writing a full checkpoint in the SAME layout as a base checkpoint, with some parameters changed: every stored
 * tensor of the base is re-read and written under its own name, dtype and file (shards and index kept), and the
 * parameters that changed are put into it through the inverse of the loader's layout table (models/layout.ts) —
 * a whole tensor, or the row range of a fused one (Phi-3 qkv_proj/gate_up_proj, imp-v1 Wqkv). Config, tokenizer
 * and the other small files are copied. Used by `imp merge` (base + LoRA deltas + trained connector) and to export
 * fully fine-tuned weights; so every command that loads the base loads the result.
 *
 * The folder appears at once: it is written beside the target under a temporary name and renamed into place.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { f32ToBf16Array, f32ToF16Array } from "../formats/half.js";
import type { StDtype } from "../io/safetensors/index.js";
import { Checkpoint, INDEX_FILE, writeSafetensors } from "../io/safetensors/index.js";
import { detectLayout, resolveSource } from "../models/layout.js";
import { readModelConfig } from "../models/load.js";
import { MultimodalModel } from "../models/multimodal.js";
import { syncDir } from "../util/atomic-file.js";
import { CheckpointError, UsageError } from "../util/errors.js";
import { toF32 } from "./peft.js";

/** A change to one parameter (by our name): new values, or values to add; f32, the parameter's shape. */
export type ParamEdit = { replace: Float32Array } | { add: Float32Array };

export interface ExportResult {
  /** Our parameter names that were changed. */
  edited: string[];
  files: string[];
}

interface Target {
  name: string;
  shape: readonly number[];
  rows?: [number, number];
}

/**
 * Writes base + edits into `out` (which must not exist, or be empty). `edit(name)` is asked once per parameter,
 * when its stored tensor is written, so large edits are computed one at a time.
 */
export function exportCheckpoint(
  base: string,
  out: string,
  edit: (name: string, shape: readonly number[]) => ParamEdit | null,
  opts: { names?: readonly string[] } = {},
): ExportResult {
  if (resolve(base) === resolve(out))
    throw new UsageError(`the output ${out} is the base folder; choose another`);
  if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0))
    throw new UsageError(`${out} already exists and is not empty; choose a new folder`);
  const { config, visionFolder } = readModelConfig(base);
  const ckpt = Checkpoint.open(base);
  const tmp = join(dirname(resolve(out)), `.${basename(out)}.${process.pid}.partial`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const names = new Set(ckpt.names());
    const layout = detectLayout(names);
    // Stored tensor → the parameters read from it (several for a fused tensor).
    const byStored = new Map<string, Target[]>();
    const params = new MultimodalModel(config).namedParameters();
    for (const [name, p] of params) {
      const src = resolveSource(layout, name, config.llm, (n) => names.has(n), visionFolder !== null);
      if (src.from !== "main") continue;
      const list = byStored.get(src.name) ?? [];
      list.push({ name, shape: p.shape, rows: src.rows });
      byStored.set(src.name, list);
    }
    const wanted = new Set(opts.names ?? []);
    const edited: string[] = [];
    const files: string[] = [];
    for (const file of ckpt.files) {
      const target = join(tmp, basename(file.path));
      const entries = file.entries.map((e) => ({
        name: e.name,
        dtype: e.dtype,
        shape: [...e.shape],
        data: () => {
          const raw = ckpt.readBytes(e.name);
          const targets = byStored.get(e.name) ?? [];
          const edits: Array<[Target, ParamEdit]> = [];
          for (const t of targets) {
            const x = edit(t.name, t.shape);
            if (x) edits.push([t, x]);
          }
          if (edits.length === 0) return raw;
          if (e.dtype !== "F32" && e.dtype !== "F16" && e.dtype !== "BF16")
            throw new CheckpointError(
              `${file.path}: "${e.name}" is ${e.dtype}; only float tensors can be edited`,
            );
          const values = toF32(raw, e.dtype);
          const cols = e.shape.slice(1).reduce((a, b) => a * b, 1);
          for (const [t, x] of edits) {
            const start = (t.rows?.[0] ?? 0) * cols;
            const n = t.shape.reduce((a, b) => a * b, 1);
            const v = "replace" in x ? x.replace : x.add;
            if (v.length !== n)
              throw new CheckpointError(`edit of "${t.name}": ${v.length} values for shape [${t.shape}]`);
            if ("replace" in x) values.set(v, start);
            else for (let i = 0; i < n; i++) values[start + i]! += v[i]!;
            edited.push(t.name);
          }
          return fromF32(values, e.dtype);
        },
      }));
      writeSafetensors(target, entries, file.metadata);
      files.push(basename(file.path));
    }
    for (const n of wanted)
      if (!edited.includes(n))
        throw new CheckpointError(
          `${base}: parameter "${n}" was to be changed but is not stored in this checkpoint`,
        );
    // The index (unchanged: same tensors in the same files), config, tokenizer and other small files.
    for (const f of readdirSync(base)) {
      const p = join(base, f);
      if (!statSync(p).isFile() || (f.endsWith(".safetensors") && f !== INDEX_FILE)) continue;
      copyFileSync(p, join(tmp, f));
    }
    syncDir(tmp);
    if (existsSync(out)) rmSync(out, { recursive: true });
    renameSync(tmp, out);
    syncDir(dirname(resolve(out)));
    return { edited, files };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    ckpt.close();
  }
}

function fromF32(values: Float32Array, dtype: StDtype): Uint8Array {
  if (dtype === "F32") return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const h = new Uint16Array(values.length);
  if (dtype === "BF16") f32ToBf16Array(values, h);
  else f32ToF16Array(values, h);
  return new Uint8Array(h.buffer);
}
