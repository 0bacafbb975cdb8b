/**
 * Writing a loaded model back to a checkpoint folder, in memory formats included: q8/q4 matrices as U8 rows of
 * GGUF Q8_0/Q4_0 blocks (see QUANT_METADATA_KEY in src/models/load.ts), the rest as F32/F16/BF16. Tensor names
 * follow the input's layout where that is a plain rename (Imp-v1.5, LLaVA, transformers-native LLaVA); fused
 * layouts (imp-v1 Wqkv, Phi-3 qkv/gate_up) are written unfused under the Imp-v1.5 names, which the loader reads
 * too. LLaVA-1.5's separate CLIP tower goes to a `clip-vision/` sub-folder that config.json points at.
 * The folder is built under a temporary name and renamed into place at the end.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import type { DType } from "../formats/dtype.js";
import { byteSize } from "../formats/dtype.js";
import type { StDtype, StWriteEntry } from "../io/safetensors/index.js";
import { writeShardedSafetensors } from "../io/safetensors/index.js";
import { resolveSource, VISION_PREFIX } from "../models/layout.js";
import type { LoadedModel } from "../models/load.js";
import { QUANT_METADATA_KEY } from "../models/load.js";
import { UsageError } from "../util/errors.js";

/** Files besides the weights that a model folder carries over. */
const SIDE_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
  "vocab.json",
  "merges.txt",
  "tokenizer.model",
  "generation_config.json",
  "preprocessor_config.json",
  "chat_template.json",
];

const ST: Partial<Record<DType, StDtype>> = { f32: "F32", f16: "F16", bf16: "BF16", i32: "I32", i64: "I64" };

function entry(name: string, dtype: DType, shape: readonly number[], data: () => Uint8Array): StWriteEntry {
  if (dtype === "q8" || dtype === "q4") {
    const rows = shape[0]!;
    return { name, dtype: "U8", shape: [rows, byteSize(dtype, shape[1]!)], data };
  }
  return { name, dtype: ST[dtype]!, shape: [...shape], data };
}

export interface SaveOptions {
  /** Extra keys merged into config.json (e.g. quantization_config). */
  configPatch?: Record<string, unknown>;
  maxShardBytes?: number;
  overwrite?: boolean;
}

/** Writes `loaded` (as it sits in memory) to `out`. */
export function saveModelFolder(loaded: LoadedModel, out: string, opts: SaveOptions = {}): void {
  if (existsSync(out) && !opts.overwrite)
    throw new UsageError(`${out} already exists; choose another --out or remove it`);
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const { model, config, folder, visionFolder } = loaded;
    const layout = loaded.layout.replace(/\+clip$/, "");
    const renameable = layout === "imp15" || layout === "llavaHf" || layout === "llavaHfNested";
    const main: StWriteEntry[] = [];
    const vision: StWriteEntry[] = [];
    const mainQ: Record<string, string> = {};
    const visionQ: Record<string, string> = {};
    for (const [name, p] of model.namedParameters()) {
      const t = p.value;
      const toVision = visionFolder !== null && name.startsWith(VISION_PREFIX);
      const stored = toVision
        ? `vision_model.${name.slice(VISION_PREFIX.length)}`
        : renameable
          ? resolveSource(layout as "imp15", name, config.llm, () => true, false).name
          : name;
      const e = entry(stored, t.dtype, t.shape, () => t.toBytes());
      (toVision ? vision : main).push(e);
      if (t.dtype === "q8" || t.dtype === "q4") (toVision ? visionQ : mainQ)[stored] = `${t.dtype}_0`;
    }
    const maxShardBytes = opts.maxShardBytes ?? 2 * 2 ** 30;
    const meta = (q: Record<string, string>) => ({
      format: "pt",
      ...(Object.keys(q).length ? { [QUANT_METADATA_KEY]: JSON.stringify(q) } : {}),
    });
    writeShardedSafetensors(tmp, main, { maxShardBytes, metadata: meta(mainQ) });
    const cfg = JSON.parse(readFileSync(join(folder, "config.json"), "utf8")) as Record<string, unknown>;
    if (visionFolder) {
      const vdir = join(tmp, "clip-vision");
      mkdirSync(vdir);
      writeShardedSafetensors(vdir, vision, { maxShardBytes, metadata: meta(visionQ) });
      for (const f of ["config.json", "preprocessor_config.json"])
        if (existsSync(join(visionFolder, f))) copyFileSync(join(visionFolder, f), join(vdir, f));
      cfg.mm_vision_tower = "clip-vision";
    }
    writeFileSync(join(tmp, "config.json"), `${JSON.stringify({ ...cfg, ...opts.configPatch }, null, 2)}\n`);
    for (const f of SIDE_FILES) if (existsSync(join(folder, f))) copyFileSync(join(folder, f), join(tmp, f));
    if (existsSync(out)) rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
