/**
 * Writing a full checkpoint in the SAME layout as a base checkpoint, with some parameters changed: every stored
 * tensor of the base is re-read and written under its own name, dtype and file (shards and index kept), and the
 * parameters that changed are put into it through the inverse of the loader's layout table (models/layout.ts) —
 * a whole tensor, or the row range of a fused one (Phi-3 qkv_proj/gate_up_proj, imp-v1 Wqkv). Config, tokenizer
 * and the other small files are copied. Used by `imp merge` (base + LoRA deltas + trained connector) and to export
 * fully fine-tuned weights; so every command that loads the base loads the result.
 *
 * The folder appears at once: it is written beside the target under a temporary name and renamed into place.
 * The writer is the one `imp quantize` uses (quant/checkpoint-writer.ts).
 */
import type { StEntry } from "../io/safetensors/index.js";
import { type StoredPart, storedFromF32, writeCheckpointLike } from "../quant/checkpoint-writer.js";
import { CheckpointError } from "../util/errors.js";
import { toF32 } from "./peft.js";

/** A change to one parameter (by our name): new values, or values to add; f32, the parameter's shape. */
export type ParamEdit = { replace: Float32Array } | { add: Float32Array };

export interface ExportResult {
  /** Our parameter names that were changed. */
  edited: string[];
  files: string[];
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
  const edited: string[] = [];
  const files = writeCheckpointLike(base, out, {
    // Stored as it was, with the edits of the parameters read from it put in when it is written.
    tensor: ({ entry, parts, read }) =>
      parts.length === 0
        ? null
        : {
            dtype: entry.dtype,
            shape: entry.shape,
            data: () => withEdits(entry, read(), parts, edit, edited),
          },
    verify: () => {
      for (const n of opts.names ?? [])
        if (!edited.includes(n))
          throw new CheckpointError(
            `${base}: parameter "${n}" was to be changed but is not stored in this checkpoint`,
          );
    },
  });
  return { edited, files };
}

/** A stored tensor's bytes with the edits of its parameters applied (its stored bytes when there are none). */
function withEdits(
  entry: StEntry,
  raw: Uint8Array,
  parts: readonly StoredPart[],
  edit: (name: string, shape: readonly number[]) => ParamEdit | null,
  edited: string[],
): Uint8Array {
  const edits: Array<[StoredPart, ParamEdit]> = [];
  for (const t of parts) {
    const x = edit(t.name, t.shape);
    if (x) edits.push([t, x]);
  }
  if (edits.length === 0) return raw;
  const dtype = entry.dtype;
  if (dtype !== "F32" && dtype !== "F16" && dtype !== "BF16")
    throw new CheckpointError(`${entry.file}: "${entry.name}" is ${dtype}; only float tensors can be edited`);
  const values = toF32(raw, dtype);
  const cols = entry.shape.slice(1).reduce((a, b) => a * b, 1);
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
  return storedFromF32(values, dtype);
}
