/**
 * Training recipes: a JSON or YAML file naming the base model, the stage, the data mixture, the hyper-parameters
 * and the output folder, with command-line overrides (`--set lr=1e-3 --set lora.rank=8`). Keys are snake_case,
 * as Hugging Face's TrainingArguments and Imp's scripts (scripts/pretrain.sh, finetune_lora.sh) spell them.
 *
 * `stage` only chooses defaults: stage 1 trains the connector on the `plain` template (multimodal pretraining),
 * stage 2 trains LoRA adapters plus the connector on the model's own template (instruction tuning). Every
 * default can be overridden. Paths in a recipe are relative to the working directory.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import type { WeightDType } from "../models/load.js";
import { FormatError, UsageError } from "../util/errors.js";
import type { MixtureSpec } from "./mixture.js";

export type TrainMode = "connector" | "lora" | "full";
export type ScheduleName = "cosine" | "linear" | "constant";

export interface LoraRecipe {
  rank: number;
  alpha: number;
  dropout: number;
  /** "all-linear" (Imp: every LLM linear, lm_head included), or last-name components ("q_proj", "lm_head"). */
  targetModules: "all-linear" | string[];
}

export interface Recipe {
  stage: 1 | 2;
  base: string;
  output: string;
  /** A mixture file (JSON/YAML) or an inline mixture. */
  data: string | MixtureSpec;
  train: TrainMode;
  /** "plain" (stage 1: image + caption), "model" (the checkpoint's own template), or a template name. */
  template: string;
  /** Where the connector starts: as in the base, freshly initialised, or a stage-1 output (file or folder). */
  connectorInit: string;
  lora: LoraRecipe;
  lr: number;
  /** Learning rate of the connector (Imp stage 2: mm_projector_lr); null = lr. */
  connectorLr: number | null;
  globalBatch: number;
  /**
   * Batches of one modality (image or text-only), longest first, as Imp's stage 2 orders them
   * (`group_by_modality_length`; batches.ts).
   */
  groupByModalityLength: boolean;
  epochs: number;
  maxSteps: number | null;
  schedule: ScheduleName;
  warmupRatio: number;
  weightDecay: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEps: number;
  maxGradNorm: number;
  /**
   * Weight of the dense image-token signal beside the answer loss (0: off): a head on the image tokens' final
   * hidden states says whether each shows what the question names, from the records' `named_boxes`
   * (image-token-head.ts). It needs the question before the image.
   */
  imageTokenLoss: number;
  /**
   * Which decoder layer's output the image-token head reads (0-based; null: the final hidden states). A middle layer
   * asks for the match between an image token and the question's noun early enough that the layers above it can
   * carry it to the answer.
   */
  imageTokenLayer: number | null;
  /**
   * Where the image-token head starts (null: zeros): an earlier run's `image_token_head.safetensors`, or its folder,
   * so a phase that follows one with the same signal does not relearn the head from nothing.
   */
  imageTokenHeadInit: string | null;
  /** Longest sequence (after image splicing); null = the model's tokenizer_model_max_length. */
  maxLength: number | null;
  seed: number;
  saveEvery: number;
  keepCheckpoints: number;
  logEvery: number;
  /** In-memory format of the frozen base (q8/q4: LoRA on a quantized base, QLoRA-style). */
  baseDtype: WeightDType;
  backend: "wasm" | "js";
  threads: number | null;
  skipBad: boolean;
  /** Decode every image before training, so an unreadable one stops the run at once rather than mid-way. */
  validateImages: boolean;
}

type Raw = Record<string, unknown>;

interface Field {
  key: string;
  /** Checks and converts one value; `where` names the key for messages. */
  read(v: unknown, where: string): unknown;
}

const isObject = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);

function bad(where: string, expected: string, v: unknown): UsageError {
  return new UsageError(`${where}: expected ${expected}, found ${JSON.stringify(v)}`);
}
const str = (v: unknown, w: string) => {
  if (typeof v !== "string" || v === "") throw bad(w, "a non-empty string", v);
  return v;
};
const num =
  (min: number, max = Number.POSITIVE_INFINITY) =>
  (v: unknown, w: string) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max)
      throw bad(w, `a number in [${min}, ${max}]`, v);
    return v;
  };
const int = (min: number) => (v: unknown, w: string) => {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw bad(w, `an integer ≥ ${min}`, v);
  return v;
};
const nullable = (f: (v: unknown, w: string) => unknown) => (v: unknown, w: string) =>
  v === null ? null : f(v, w);
const oneOf =
  <T extends string | number>(...values: T[]) =>
  (v: unknown, w: string) => {
    if (!values.includes(v as T))
      throw bad(w, `one of ${values.map((x) => JSON.stringify(x)).join(", ")}`, v);
    return v;
  };
const bool = (v: unknown, w: string) => {
  if (typeof v !== "boolean") throw bad(w, "true or false", v);
  return v;
};

/** file key → recipe field, with its check. */
const FIELDS: Record<string, Field> = {
  stage: { key: "stage", read: oneOf(1, 2) },
  base: { key: "base", read: str },
  output: { key: "output", read: str },
  data: {
    key: "data",
    read: (v, w) => {
      if (typeof v === "string" && v !== "") return v;
      if (isObject(v)) return v;
      throw bad(w, "a mixture file path or an inline mixture object", v);
    },
  },
  train: { key: "train", read: oneOf("connector", "lora", "full") },
  template: { key: "template", read: str },
  connector_init: { key: "connectorInit", read: str },
  lr: { key: "lr", read: num(0) },
  connector_lr: { key: "connectorLr", read: nullable(num(0)) },
  global_batch: { key: "globalBatch", read: int(1) },
  group_by_modality_length: { key: "groupByModalityLength", read: bool },
  epochs: { key: "epochs", read: num(0) },
  max_steps: { key: "maxSteps", read: nullable(int(1)) },
  schedule: { key: "schedule", read: oneOf("cosine", "linear", "constant") },
  warmup_ratio: { key: "warmupRatio", read: num(0, 1) },
  weight_decay: { key: "weightDecay", read: num(0) },
  adam_beta1: { key: "adamBeta1", read: num(0, 1) },
  adam_beta2: { key: "adamBeta2", read: num(0, 1) },
  adam_eps: { key: "adamEps", read: num(0) },
  max_grad_norm: { key: "maxGradNorm", read: num(0) },
  image_token_loss: { key: "imageTokenLoss", read: num(0) },
  image_token_layer: { key: "imageTokenLayer", read: nullable(int(0)) },
  image_token_head_init: { key: "imageTokenHeadInit", read: nullable(str) },
  max_length: { key: "maxLength", read: nullable(int(2)) },
  seed: { key: "seed", read: int(0) },
  save_every: { key: "saveEvery", read: int(1) },
  keep_checkpoints: { key: "keepCheckpoints", read: int(1) },
  log_every: { key: "logEvery", read: int(1) },
  base_dtype: { key: "baseDtype", read: oneOf("auto", "f32", "f16", "q8", "q4") },
  backend: { key: "backend", read: oneOf("wasm", "js") },
  threads: { key: "threads", read: nullable(int(1)) },
  skip_bad: { key: "skipBad", read: bool },
  validate_images: { key: "validateImages", read: bool },
};

const LORA_FIELDS: Record<string, Field> = {
  rank: { key: "rank", read: int(1) },
  alpha: { key: "alpha", read: num(0) },
  dropout: { key: "dropout", read: num(0, 0.999) },
  target_modules: {
    key: "targetModules",
    read: (v, w) => {
      if (v === "all-linear") return v;
      if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string" && x !== "")) return v;
      throw bad(w, '"all-linear" or a list of module names', v);
    },
  },
};

/** Defaults that do not depend on the stage (Hugging Face Trainer's, where it has one). */
const DEFAULTS: Raw = {
  connector_init: "base",
  connector_lr: null,
  lr: 1e-4,
  global_batch: 8,
  group_by_modality_length: false,
  epochs: 1,
  max_steps: null,
  schedule: "cosine",
  warmup_ratio: 0.03,
  weight_decay: 0,
  adam_beta1: 0.9,
  adam_beta2: 0.999,
  adam_eps: 1e-8,
  max_grad_norm: 1,
  image_token_loss: 0,
  image_token_layer: null,
  image_token_head_init: null,
  max_length: null,
  seed: 42,
  save_every: 500,
  keep_checkpoints: 2,
  log_every: 1,
  base_dtype: "auto",
  backend: "wasm",
  threads: null,
  skip_bad: false,
  validate_images: false,
};
const LORA_DEFAULTS: Raw = { rank: 256, alpha: 256, dropout: 0.05, target_modules: "all-linear" };

/** Reads a recipe file (JSON, or YAML for .yaml/.yml) as a plain object. */
export function readRecipeFile(file: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read the recipe ${file}: ${(e as Error).message}`, { cause: e });
  }
  return parseStructured(text, file);
}

/** JSON or YAML text (by extension) → an object; errors name the file and, for YAML, the line. */
export function parseStructured(text: string, file: string): Raw {
  const yaml = [".yaml", ".yml"].includes(extname(file).toLowerCase());
  let v: unknown;
  try {
    v = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${file}: not valid ${yaml ? "YAML" : "JSON"}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!isObject(v)) throw new FormatError(`${file}: expected an object at the top level`);
  return v;
}

/**
 * Applies `key=value` overrides (dotted keys reach into objects: `lora.rank=8`). Values are read as YAML
 * scalars or flow collections, so `1e-3`, `true`, `null`, `[q_proj, v_proj]` have their natural types.
 */
export function applyOverrides(raw: Raw, sets: readonly string[]): Raw {
  const out: Raw = structuredClone(raw);
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set ${s}: expected KEY=VALUE, e.g. --set lr=1e-3`);
    const path = s.slice(0, eq).trim().split(".");
    const text = s.slice(eq + 1);
    let value: unknown;
    try {
      value = text === "" ? "" : parseYaml(text);
    } catch {
      value = text;
    }
    let obj = out;
    for (const k of path.slice(0, -1)) {
      if (!isObject(obj[k])) obj[k] = {};
      obj = obj[k] as Raw;
    }
    obj[path[path.length - 1]!] = value;
  }
  return out;
}

/** Validates a raw recipe (file + overrides) and fills in the defaults; `source` names it in messages. */
export function resolveRecipe(raw: Raw, source: string): Recipe {
  for (const k of Object.keys(raw))
    if (!(k in FIELDS) && k !== "lora" && k !== "description")
      throw new UsageError(
        `${source}: unknown key "${k}" (known: ${[...Object.keys(FIELDS), "lora"].join(", ")})`,
      );
  for (const k of ["stage", "base", "output", "data"])
    if (raw[k] === undefined) throw new UsageError(`${source}: missing "${k}"`);
  const stage = FIELDS.stage!.read(raw.stage, `${source}: stage`) as 1 | 2;
  const stageDefaults: Raw =
    stage === 1 ? { train: "connector", template: "plain" } : { train: "lora", template: "model" };
  const merged: Raw = { ...DEFAULTS, ...stageDefaults, ...raw };
  const out: Raw = {};
  for (const [k, f] of Object.entries(FIELDS)) out[f.key] = f.read(merged[k], `${source}: ${k}`);
  const loraRaw = raw.lora === undefined ? {} : raw.lora;
  if (!isObject(loraRaw)) throw bad(`${source}: lora`, "an object", loraRaw);
  for (const k of Object.keys(loraRaw))
    if (!(k in LORA_FIELDS))
      throw new UsageError(
        `${source}: unknown key "lora.${k}" (known: ${Object.keys(LORA_FIELDS).join(", ")})`,
      );
  const lora: Raw = {};
  const loraMerged = { ...LORA_DEFAULTS, ...loraRaw };
  for (const [k, f] of Object.entries(LORA_FIELDS))
    lora[f.key] = f.read(loraMerged[k], `${source}: lora.${k}`);
  out.lora = lora;
  return out as unknown as Recipe;
}

/** Reads, overrides and validates a recipe file. */
export function loadRecipe(file: string, sets: readonly string[] = []): Recipe {
  const source = sets.length > 0 ? `${file} (with --set ${sets.join(" --set ")})` : file;
  return resolveRecipe(applyOverrides(readRecipeFile(file), sets), source);
}

/** The recipe as a file would hold it (snake_case keys), for train_config.json. */
export function recipeToJson(r: Recipe): Raw {
  const out: Raw = {};
  for (const [k, f] of Object.entries(FIELDS)) out[k] = (r as unknown as Raw)[f.key];
  const lora: Raw = {};
  for (const [k, f] of Object.entries(LORA_FIELDS)) lora[k] = (r.lora as unknown as Raw)[f.key];
  out.lora = lora;
  return out;
}
