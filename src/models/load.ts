/**
 * Loading a checkpoint folder: config.json → the model's modules; then, for each of the model's parameters (by
 * its checkpoint name), the stored tensor found through the layout table, checked for shape, read straight into
 * backend memory and converted to the requested format. Tensors the official code ignores (post_layernorm, a
 * LLaVA checkpoint's copy of its frozen CLIP tower, CLIP's text model) are ignored; a missing or mis-shaped one is
 * an error naming it, with the expected and the found shape.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, isAbsolute, join, resolve } from "node:path";
import type { Backend } from "../backend/backend.js";
import type { DType } from "../formats/dtype.js";
import { QK } from "../formats/dtype.js";
import type { WeightDType } from "../formats/quantized-file.js";
import { QUANT_FORMATS, quantizedFormats, weightFormat } from "../formats/quantized-file.js";
import type { StEntry } from "../io/safetensors/index.js";
import { Checkpoint } from "../io/safetensors/index.js";
import type { KVDType } from "../nn/kv-cache.js";
import type { Param } from "../nn/module.js";
import { cast } from "../tensor/ops/convert.js";
import type { Tensor } from "../tensor/tensor.js";
import { empty } from "../tensor/tensor.js";
import { CheckpointError } from "../util/errors.js";
import type { ModelConfig } from "./config.js";
import { ConfigReader, modelTypeOf, parseModelConfig } from "./config.js";
import type { TensorSource } from "./layout.js";
import { detectLayout, resolveSource, VISION_PREFIX } from "./layout.js";
import { MultimodalModel } from "./multimodal.js";

/** How matrices are stored in memory: as in the file ("auto"), widened, halved, or quantized. */
export type { WeightDType } from "../formats/quantized-file.js";

export interface LoadOptions {
  /** Format of the LLM's matrices and embeddings (default "auto": as stored). */
  dtype?: WeightDType;
  /** Format of the vision tower's and connector's matrices (default: f16 when dtype is q8/q4, else dtype). */
  visionDtype?: WeightDType;
  /** Element type of the model's KV caches (default f32; f16 halves their memory, as llama.cpp). */
  kvDtype?: KVDType;
  /** The backend to load into: the caller's choice (a model never picks its backend). */
  backend: Backend;
  /**
   * The tower folder config.json's mm_vision_tower names, when it is not where the loader looks: LLaVA-1.5's
   * CLIP folder (a hub name), or an Imp checkpoint's own SigLIP folder (Imp-v1.5-3B-196's).
   */
  visionTower?: string;
  /**
   * Repack q4 matrices to q4x4 (the decode kernels' layout: fewer operations per weight, the same results and
   * bytes) once here. Default: when the backend takes integer products (Backend.intProducts), since q4x4 has no
   * other product.
   */
  repackQ4?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface LoadedModel {
  model: MultimodalModel;
  config: ModelConfig;
  folder: string;
  /** The CLIP folder of a LLaVA-1.5 model, if separate: the tower's weights come from it. */
  visionFolder: string | null;
  /**
   * The folder of the tower's own config.json and preprocessor_config.json: the CLIP folder, or the SigLIP folder
   * an Imp checkpoint ships (whose weights stay in the main checkpoint); null when config.json describes the tower.
   */
  towerFolder: string | null;
  layout: string;
}

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new CheckpointError(`cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not a JSON object");
    return v as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** transformers' LlamaConfig / CLIPVisionConfig defaults: llava-hf configs omit keys equal to them. */
const LLAMA_DEFAULTS = {
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  rms_norm_eps: 1e-6,
  vocab_size: 32000,
  max_position_embeddings: 2048,
  hidden_act: "silu",
};
const CLIP_VISION_DEFAULTS = {
  hidden_size: 768,
  intermediate_size: 3072,
  num_attention_heads: 12,
  num_hidden_layers: 12,
  image_size: 224,
  patch_size: 32,
  layer_norm_eps: 1e-5,
  hidden_act: "quick_gelu",
};

/** A transformers-native LLaVA config ({text_config, vision_config}) as the flat LLaVA-1.5 schema. */
export function flattenLlavaHf(
  json: Record<string, unknown>,
  file: string,
): { flat: Record<string, unknown>; clip: ConfigReader } {
  const text = { ...LLAMA_DEFAULTS, ...((json.text_config as Record<string, unknown>) ?? {}) };
  const vision = { ...CLIP_VISION_DEFAULTS, ...((json.vision_config as Record<string, unknown>) ?? {}) };
  const strategy = json.vision_feature_select_strategy ?? "default";
  const flat: Record<string, unknown> = {
    ...text,
    model_type: "llava",
    mm_projector_type: "mlp2x_gelu",
    mm_hidden_size: vision.hidden_size,
    mm_vision_select_layer: json.vision_feature_layer ?? -2,
    mm_vision_select_feature: strategy === "full" ? "cls_patch" : "patch",
    image_token_index: json.image_token_index ?? 32000,
    image_aspect_ratio: "square",
  };
  if (json.projector_hidden_act !== undefined && json.projector_hidden_act !== "gelu")
    throw new CheckpointError(
      `${file}: projector_hidden_act "${String(json.projector_hidden_act)}" is not supported`,
    );
  return { flat, clip: new ConfigReader(vision, `${file} → vision_config`) };
}

/** Finds the CLIP folder a LLaVA-1.5 config names. */
function findVisionFolder(folder: string, name: string | null, override?: string): string {
  const candidates = override
    ? [resolve(override)]
    : name
      ? [join(folder, name), resolve(folder, "..", basename(name)), join(folder, basename(name))]
      : [];
  for (const c of candidates) if (isDir(c) && existsSync(join(c, "config.json"))) return c;
  throw new CheckpointError(
    `${join(folder, "config.json")} names the vision tower "${name}", which is not in the checkpoint; ` +
      `no local folder found (looked in ${candidates.join(", ") || "nowhere"}). Pass the CLIP folder with --vision-tower DIR.`,
  );
}

/**
 * The SigLIP folder an Imp config.json's mm_vision_tower names inside the checkpoint, or null when there is none.
 *
 * Imp-v1.5-3B-196 ships its tower's package (`siglip-so400m-patch14-196/`: config.json at image_size 196,
 * preprocessor_config.json) inside the repo; its weights are in the main checkpoint. The official code
 * (MILVLG/imp: multimodal_encoder/builder.py) takes mm_vision_tower as a path when one exists, relative to the
 * working directory, and builds the tower from that folder's config (SiglipVisionConfig.from_pretrained, its
 * image_size and patch_size giving the visual-token count). Here a relative name is resolved against the checkpoint
 * folder instead, and a hub-style or absolute name from the training machine by its last part. When config.json
 * also embeds a `vision_tower_config`, the folder's config wins, as in the official code, which never reads the
 * embedded copy; the stored position table must then match the folder's grid (checked at load).
 *
 * `required`: the config has no embedded `vision_tower_config`, so the folder is the only description of the tower
 * and its absence is an error naming the folder and what it must hold.
 */
function towerFolderOf(
  folder: string,
  name: unknown,
  override: string | undefined,
  required: boolean,
): string | null {
  const expected = "the SigLIP tower's config.json (image_size, patch_size, hidden_size, …)";
  if (override) {
    const dir = resolve(override);
    if (!existsSync(join(dir, "config.json")))
      throw new CheckpointError(`--vision-tower ${override}: no config.json there; expected ${expected}`);
    return dir;
  }
  if (typeof name !== "string" || name.trim() === "") return null;
  const clean = name.trim().replace(/[/\\]+$/, "");
  const candidates = [
    ...(isAbsolute(clean) ? [clean] : [join(folder, clean)]),
    join(folder, basename(clean)),
  ].filter((c, i, all) => all.indexOf(c) === i);
  for (const c of candidates) {
    if (!isDir(c)) continue;
    if (existsSync(join(c, "config.json"))) return c;
    throw new CheckpointError(
      `${c}, the vision tower folder that config.json's mm_vision_tower names, has no config.json; expected ${expected}`,
    );
  }
  if (!required) return null;
  throw new CheckpointError(
    `${join(folder, "config.json")} has no "vision_tower_config" and names the vision tower "${name}", whose folder ` +
      `is not in the checkpoint (looked for ${candidates.join(", ")}); expected a folder holding ${expected}, ` +
      "as Imp-v1.5-3B-196 ships siglip-so400m-patch14-196/. Copy the whole checkpoint folder, or pass the tower folder with --vision-tower DIR.",
  );
}

/** A tower folder's config.json as the vision config it holds (a full CLIP/SigLIP config nests it). */
export function towerConfigReader(json: Record<string, unknown>, file: string): ConfigReader {
  const full = json.model_type === "clip" || json.model_type === "siglip" || json.vision_config !== undefined;
  return full ? new ConfigReader(json, file).sub("vision_config") : new ConfigReader(json, file);
}

function readTowerConfig(dir: string): ConfigReader {
  const file = join(dir, "config.json");
  return towerConfigReader(readJson(file), file);
}

export interface ModelConfigFolders {
  config: ModelConfig;
  /** LLaVA-1.5's separate CLIP folder: the tower's weights are read from it. */
  visionFolder: string | null;
  /** The folder the tower's config (and preprocessor config) came from: LoadedModel.towerFolder. */
  towerFolder: string | null;
  llavaHf: boolean;
}

/** Reads a model's config, resolving LLaVA's separate CLIP folder and an Imp checkpoint's own SigLIP folder. */
export function readModelConfig(folder: string, visionTower?: string): ModelConfigFolders {
  const file = join(folder, "config.json");
  if (!existsSync(file)) throw new CheckpointError(`${folder} has no config.json; is it a model folder?`);
  const json = readJson(file);
  if (json.text_config !== undefined || json.vision_config !== undefined) {
    const { flat, clip } = flattenLlavaHf(json, file);
    return {
      config: parseModelConfig(flat, file, clip),
      visionFolder: null,
      towerFolder: null,
      llavaHf: true,
    };
  }
  const type = modelTypeOf(json.model_type);
  if (type?.vision === "clip-folder") {
    const visionFolder = findVisionFolder(
      folder,
      typeof json.mm_vision_tower === "string" ? json.mm_vision_tower : null,
      visionTower,
    );
    const config = parseModelConfig(json, file, readTowerConfig(visionFolder));
    return { config, visionFolder, towerFolder: visionFolder, llavaHf: false };
  }
  const embedded = json.vision_tower_config !== undefined && json.vision_tower_config !== null;
  const towerFolder = type
    ? towerFolderOf(
        folder,
        json.mm_vision_tower,
        visionTower,
        !embedded && json.mm_vision_tower !== undefined,
      )
    : null;
  const config = parseModelConfig(json, file, towerFolder ? readTowerConfig(towerFolder) : undefined);
  return { config, visionFolder: null, towerFolder, llavaHf: false };
}

const STORED: Record<string, DType> = { F32: "f32", F16: "f16", BF16: "bf16" };

export async function loadModel(folder: string, opts: LoadOptions): Promise<LoadedModel> {
  if (!isDir(folder)) throw new CheckpointError(`model folder ${folder} does not exist or is not a folder`);
  const { config, visionFolder, towerFolder } = readModelConfig(folder, opts.visionTower);
  const backend = opts.backend;
  const main = Checkpoint.open(folder);
  const vision = visionFolder ? Checkpoint.open(visionFolder) : null;
  const model = new MultimodalModel(config, backend);
  if (opts.kvDtype !== undefined) model.kvDtype = opts.kvDtype;
  try {
    const names = new Set(main.names());
    const layout = detectLayout(names);
    const dtype = opts.dtype ?? "auto";
    const visionDtype = opts.visionDtype ?? (dtype === "q8" || dtype === "q4" ? "f16" : dtype);
    const params = model.namedParameters();
    const repack = opts.repackQ4 ?? backend.intProducts;
    // A tower whose stored shapes disagree with config.json's vision_tower_config may be described by a folder the
    // checkpoint was meant to ship (Imp-v1.5-3B-196's siglip-so400m-patch14-196/, at another image size).
    const towerHint =
      towerFolder === null &&
      config.visionTowerName !== null &&
      !isDir(join(folder, basename(config.visionTowerName)))
        ? ` config.json's mm_vision_tower names "${config.visionTowerName}", which is not in ${folder}: a checkpoint ` +
          "that ships its tower's own folder (Imp-v1.5-3B-196 ships siglip-so400m-patch14-196/, a 196-row position " +
          "table) needs that folder, with its config.json, beside config.json."
        : "";
    const plan = params.map(([name, p]) => ({
      name,
      p,
      src: resolveSource(layout, name, config.llm, (n) => names.has(n), vision !== null),
    }));
    // Fused tensors feed several parameters: read each once and keep it until its last row range is taken.
    const uses = new Map<string, number>();
    for (const { src } of plan) uses.set(key(src), (uses.get(key(src)) ?? 0) + 1);
    const cache = new Map<string, Tensor>();
    let done = 0;
    for (const { name, p, src } of plan) {
      const ckpt = src.from === "vision" ? vision! : main;
      const where = src.from === "vision" ? visionFolder! : folder;
      if (!ckpt.has(src.name)) {
        const alias = src.name !== name ? ` (stored as "${src.name}")` : "";
        throw new CheckpointError(
          `${where}: tensor "${name}"${alias} is missing; expected shape [${p.shape}]. ` +
            "Is this checkpoint complete, and does config.json match it?",
        );
      }
      const entry = ckpt.info(src.name);
      const k = key(src);
      let stored = cache.get(k);
      if (!stored) {
        stored = readStored(
          backend,
          ckpt,
          entry,
          where,
          quantizedFormats(ckpt.files.find((x) => x.path === entry.file)?.metadata ?? {}, entry.file),
        );
        cache.set(k, stored);
      }
      const part = sliceRows(stored, src, p, name, where, name.startsWith(VISION_PREFIX) ? towerHint : "");
      const mode =
        name.startsWith(VISION_PREFIX) || name.startsWith("model.mm_projector") ? visionDtype : dtype;
      p.value = cast(part, weightFormat(p.role, p.shape, stored.dtype, mode));
      part.dispose();
      if (p.role === "matrix" && p.value.dtype === "q4" && repack) p.value = cast(p.value, "q4x4");
      const left = uses.get(k)! - 1;
      uses.set(k, left);
      if (left === 0) {
        stored.dispose();
        cache.delete(k);
      }
      opts.onProgress?.(++done, plan.length);
    }
    return { model, config, folder, visionFolder, towerFolder, layout: vision ? `${layout}+clip` : layout };
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    main.close();
    vision?.close();
  }
}

function key(src: TensorSource): string {
  return `${src.from}:${src.name}`;
}

function readStored(
  backend: Backend,
  ckpt: Checkpoint,
  entry: StEntry,
  where: string,
  quantized: Record<string, string>,
): Tensor {
  const q = quantized[entry.name];
  let dtype: DType | undefined;
  let shape = entry.shape;
  if (q !== undefined) {
    const format = Object.hasOwn(QUANT_FORMATS, q) ? QUANT_FORMATS[q] : undefined;
    dtype = format?.dtype;
    const blockBytes = format?.blockBytes ?? 1;
    if (!dtype || entry.dtype !== "U8" || entry.shape.length !== 2 || entry.shape[1]! % blockBytes !== 0)
      throw new CheckpointError(
        `${where}: tensor "${entry.name}" is marked ${q} but is ${entry.dtype} [${entry.shape}]; ` +
          "expected U8 [rows, whole Q8_0 (34-byte) or Q4_0 (18-byte) blocks]",
      );
    shape = [entry.shape[0]!, (entry.shape[1]! / blockBytes) * QK];
  } else dtype = STORED[entry.dtype];
  if (!dtype)
    throw new CheckpointError(
      `${where}: tensor "${entry.name}" is ${entry.dtype}; weights must be F32, F16 or BF16`,
    );
  const t = empty(backend, dtype, shape);
  ckpt.read(entry.name, new Uint8Array(backend.heap.buffer, t.ptr, entry.byteLength));
  return t;
}

/** The parameter's part of a stored tensor (all of it, or a row range of a fused one), shape-checked. */
function sliceRows(
  stored: Tensor,
  src: TensorSource,
  p: Param,
  name: string,
  where: string,
  hint: string,
): Tensor {
  const fail = (found: string) =>
    new CheckpointError(
      `${where}: tensor "${src.name}" has shape [${stored.shape}]; "${name}" needs [${p.shape}]${found}. ` +
        `config.json and the weights disagree.${hint}`,
    );
  if (!src.rows) {
    if (stored.shape.length !== p.shape.length || stored.shape.some((s, i) => s !== p.shape[i]))
      throw fail("");
    return stored.reshape(stored.shape);
  }
  const [start, count] = src.rows;
  if (stored.shape.length !== p.shape.length || stored.shape[0]! < start + count || count !== p.shape[0])
    throw fail(` (rows ${start}..${start + count} of the fused tensor)`);
  if (stored.shape.slice(1).some((s, i) => s !== p.shape[i + 1])) throw fail("");
  return stored.slice(0, start, start + count);
}
