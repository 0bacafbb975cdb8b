/**
 * Writing a loaded model back to a checkpoint folder as it sits in memory: q8/q4 matrices as U8 rows of GGUF
 * Q8_0/Q4_0 blocks (see QUANT_METADATA_KEY in src/formats/quantized-file.ts), the rest as F32/F16/BF16, in the layout of the
 * folder it was loaded from (./checkpoint-writer.ts: the same names and files, fused tensors fused again).
 * Vectors (norms, biases) load as f32 whatever their stored format; they go back in their stored format when that
 * holds them exactly. LLaVA-1.5's separate CLIP tower goes to a `clip-vision/` sub-folder that config.json
 * points at.
 */
import { existsSync } from "node:fs";
import { byteSize } from "../formats/dtype.js";
import { bf16BitsToF32, f16BitsToF32 } from "../formats/half.js";
import type { LoadedModel } from "../models/load.js";
import type { Param } from "../nn/module.js";
import { cast } from "../tensor/ops/convert.js";
import { UsageError } from "../util/errors.js";
import {
  joinRows,
  type StoredTensor,
  storedFromF32,
  type TensorContent,
  writeCheckpointLike,
} from "./checkpoint-writer.js";

const ST = { f32: "F32", f16: "F16", bf16: "BF16" } as const;

export interface SaveOptions {
  /** Extra keys merged into config.json (e.g. quantization_config). */
  configPatch?: Record<string, unknown>;
  overwrite?: boolean;
}

/** Writes `loaded` (as it sits in memory) to `out`. */
export function saveModelFolder(loaded: LoadedModel, out: string, opts: SaveOptions = {}): void {
  if (existsSync(out) && !opts.overwrite)
    throw new UsageError(`${out} already exists; choose another --out or remove it`);
  const params = new Map(loaded.model.namedParameters());
  writeCheckpointLike(loaded.folder, out, {
    overwrite: true,
    configPatch: opts.configPatch,
    writeVisionTower: loaded.visionFolder !== null,
    tensor: (stored) => (stored.parts.length === 0 ? null : content(stored, params)),
  });
}

/** A stored tensor's content from the parameters read from it (one, or the row ranges of a fused tensor). */
function content({ entry, parts }: StoredTensor, params: ReadonlyMap<string, Param>): TensorContent {
  const ps = parts.map((part) => params.get(part.name)!);
  // q4x4 (q4 repacked in memory for decoding) is written as the q4 it was loaded from.
  const held = (p: Param) => (p.value.dtype === "q4x4" ? "q4" : p.value.dtype);
  const dtype = held(ps[0]!);
  if (ps.some((p) => held(p) !== dtype))
    throw new UsageError(
      `"${entry.name}": its parts are held as ${ps.map((p) => p.value.dtype).join(", ")}; a stored tensor has one format`,
    );
  const joined = (bytesOf: (p: Param) => Uint8Array) => () =>
    joinRows(
      entry,
      parts.map((part, i) => ({ part, bytes: bytesOf(ps[i]!) })),
    );
  if (dtype === "q8" || dtype === "q4") {
    const rowBytes = byteSize(dtype, ps[0]!.value.shape[1]!);
    const data = joined((p) => {
      if (p.value.dtype !== "q4x4") return p.value.toBytes();
      const q4 = cast(p.value, "q4");
      const bytes = q4.toBytes();
      q4.dispose();
      return bytes;
    });
    return { dtype: "U8", shape: [entry.shape[0]!, rowBytes], data, quantized: `${dtype}_0` };
  }
  if (dtype !== "f32" && dtype !== "f16" && dtype !== "bf16")
    throw new UsageError(`"${entry.name}" is held as ${dtype}; only float and q8/q4 weights are written`);
  const half = entry.dtype === "F16" || entry.dtype === "BF16" ? entry.dtype : null;
  if (dtype === "f32" && half && ps.every((p) => p.role === "vector" && holdsExactly(p.value.toF32(), half)))
    return { dtype: half, shape: entry.shape, data: joined((p) => storedFromF32(p.value.toF32(), half)) };
  return { dtype: ST[dtype], shape: entry.shape, data: joined((p) => p.value.toBytes()) };
}

/** Whether every value survives a round trip through the half format. */
function holdsExactly(values: Float32Array, dtype: "F16" | "BF16"): boolean {
  const h = new Uint16Array(storedFromF32(values, dtype).buffer);
  const widen = dtype === "F16" ? f16BitsToF32 : bf16BitsToF32;
  for (let i = 0; i < values.length; i++) if (!Object.is(widen(h[i]!), values[i])) return false;
  return true;
}
