/**
 * LoRA adapters in the PEFT layout (huggingface/peft `save_pretrained` of a LoraModel), so Python tools read them:
 *   adapter_model.safetensors   tensors `base_model.model.<module path>.lora_A.weight` [r, in] and `.lora_B.weight`
 *                               [out, r] (the adapter name "default" stripped, as get_peft_model_state_dict does)
 *   adapter_config.json         LoraConfig's keys: peft_type LORA, task_type CAUSAL_LM, r, lora_alpha, lora_dropout,
 *                               target_modules, bias "none", …
 * Module paths are the Imp-v1.5 (Hugging Face) ones: `model.layers.0.self_attn.q_proj`, `lm_head`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bf16ToF32Array, f16ToF32Array } from "../formats/half.js";
import { Checkpoint, writeSafetensors } from "../io/safetensors/index.js";
import type { MultimodalModel } from "../models/multimodal.js";
import { Linear } from "../nn/layers.js";
import type { LoraAdapter } from "../nn/lora.js";
import { keep } from "../tensor/scope.js";
import { fromF32 } from "../tensor/tensor.js";
import { writeJsonAtomic } from "../util/atomic-file.js";
import { CheckpointError } from "../util/errors.js";
import type { Rng } from "../util/random.js";
import type { LoraRecipe } from "./recipe.js";

export const ADAPTER_WEIGHTS = "adapter_model.safetensors";
export const ADAPTER_CONFIG = "adapter_config.json";
const PREFIX = "base_model.model.";

export interface AdapterConfig {
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[];
  use_rslora?: boolean;
  [key: string]: unknown;
}

/** adapter_config.json as PEFT writes it for a causal LM. */
export function adapterConfigJson(
  lora: LoraRecipe,
  paths: readonly string[],
  baseModel: string,
): AdapterConfig {
  const names = [...new Set(paths.map((p) => p.split(".").pop()!))].sort();
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    modules_to_save: null,
    peft_type: "LORA",
    r: lora.rank,
    rank_pattern: {},
    revision: null,
    target_modules: names,
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: false,
  };
}

/** Writes the adapters (f32) and adapter_config.json into `dir`, each file atomically. */
export function saveAdapter(
  dir: string,
  adapters: ReadonlyMap<string, LoraAdapter>,
  lora: LoraRecipe,
  baseModel: string,
): void {
  const entries = [...adapters].flatMap(([path, a]) =>
    (
      [
        ["lora_A", a.A],
        ["lora_B", a.B],
      ] as const
    ).map(([k, p]) => ({
      name: `${PREFIX}${path}.${k}.weight`,
      dtype: "F32" as const,
      shape: [...p.shape],
      data: () => new Uint8Array(p.value.toF32().buffer),
    })),
  );
  writeSafetensors(join(dir, ADAPTER_WEIGHTS), entries, { format: "pt" });
  writeJsonAtomic(join(dir, ADAPTER_CONFIG), adapterConfigJson(lora, [...adapters.keys()], baseModel));
}

export interface LoadedAdapter {
  config: AdapterConfig;
  /** α/r (or α/√r with rsLoRA), PEFT's `scaling`. */
  scaling: number;
  /** Module path → A [r, in] and B [out, r] as f32. */
  weights: Map<string, { a: Float32Array; aShape: number[]; b: Float32Array; bShape: number[] }>;
}

/** Reads a PEFT LoRA adapter folder. */
export function readAdapter(dir: string): LoadedAdapter {
  const cfgFile = join(dir, ADAPTER_CONFIG);
  let config: AdapterConfig;
  try {
    config = JSON.parse(readFileSync(cfgFile, "utf8")) as AdapterConfig;
  } catch (e) {
    throw new CheckpointError(`cannot read ${cfgFile}: ${(e as Error).message}`, { cause: e });
  }
  if (config.peft_type !== undefined && config.peft_type !== "LORA")
    throw new CheckpointError(
      `${cfgFile}: peft_type is ${JSON.stringify(config.peft_type)}; only LORA is supported`,
    );
  if (!(config.r > 0) || !(typeof config.lora_alpha === "number"))
    throw new CheckpointError(`${cfgFile}: "r" and "lora_alpha" must be numbers`);
  for (const k of ["rank_pattern", "alpha_pattern"]) {
    const v = config[k];
    if (v && typeof v === "object" && Object.keys(v).length > 0)
      throw new CheckpointError(
        `${cfgFile}: ${k} is not supported (every module must share r and lora_alpha)`,
      );
  }
  const scaling = config.use_rslora ? config.lora_alpha / Math.sqrt(config.r) : config.lora_alpha / config.r;
  const file = join(dir, ADAPTER_WEIGHTS);
  const ckpt = Checkpoint.open(file);
  const halves: LoraHalf[] = [];
  try {
    for (const name of ckpt.names()) {
      const m = /^base_model\.model\.(.+)\.lora_(A|B)(?:\.default)?\.weight$/.exec(name);
      if (!m) throw new CheckpointError(`${file}: unexpected tensor "${name}" (expected PEFT LoRA names)`);
      const e = ckpt.info(name);
      if (e.dtype !== "F32" && e.dtype !== "F16" && e.dtype !== "BF16")
        throw new CheckpointError(`${file}: "${name}" is ${e.dtype}; expected F32, F16 or BF16`);
      halves.push({
        path: m[1]!,
        half: m[2] as "A" | "B",
        values: toF32(ckpt.readBytes(name), e.dtype),
        shape: [...e.shape],
      });
    }
  } finally {
    ckpt.close();
  }
  const weights = pairLoraHalves(file, halves);
  return { config, scaling, weights };
}

/** One LoRA matrix as read from a file: the adapted module's path, A or B, its values and shape. */
export interface LoraHalf {
  path: string;
  half: "A" | "B";
  values: Float32Array;
  shape: number[];
}

/** A and B matrices paired by module path, each pair checked to be A [r, in], B [out, r]; `file` names them. */
export function pairLoraHalves(file: string, halves: Iterable<LoraHalf>): LoadedAdapter["weights"] {
  const weights: LoadedAdapter["weights"] = new Map();
  for (const { path, half, values, shape } of halves) {
    const w = weights.get(path) ?? { a: new Float32Array(), aShape: [], b: new Float32Array(), bShape: [] };
    if (half === "A") [w.a, w.aShape] = [values, shape];
    else [w.b, w.bShape] = [values, shape];
    weights.set(path, w);
  }
  for (const [path, w] of weights)
    if (w.aShape.length !== 2 || w.bShape.length !== 2 || w.aShape[0] !== w.bShape[1])
      throw new CheckpointError(
        `${file}: ${path} needs lora_A [r, in] and lora_B [out, r]; found [${w.aShape}], [${w.bShape}]`,
      );
  return weights;
}

/** Raw safetensors bytes of a float dtype → f32 values. */
export function toF32(bytes: Uint8Array, dtype: "F32" | "F16" | "BF16"): Float32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  if (dtype === "F32")
    return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4).slice();
  const h = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
  const out = new Float32Array(h.length);
  if (dtype === "BF16") bf16ToF32Array(h, out);
  else f16ToF32Array(h, out);
  return out;
}

/** Attaches a saved adapter to a loaded model (inference or continued training); returns the adapters. */
export function attachAdapter(model: MultimodalModel, dir: string, rng: Rng): Map<string, LoraAdapter> {
  const loaded = readAdapter(dir);
  const linears = new Map(
    model.llm.namedModules().filter((e): e is [string, Linear] => e[1] instanceof Linear),
  );
  const out = new Map<string, LoraAdapter>();
  for (const [path, w] of loaded.weights) {
    const linear = linears.get(path);
    if (!linear)
      throw new CheckpointError(`${join(dir, ADAPTER_WEIGHTS)}: no linear layer "${path}" in the model`);
    const r = w.aShape[0]!;
    // alpha chosen so that alpha / r equals the adapter's scaling (rsLoRA included).
    const a = linear.attachLora(
      { rank: r, alpha: loaded.scaling * r, dropout: loaded.config.lora_dropout ?? 0 },
      rng,
    );
    if (w.aShape[1] !== linear.inFeatures || w.bShape[0] !== linear.outFeatures)
      throw new CheckpointError(
        `${dir}: ${path} adapter is [${w.bShape}]·[${w.aShape}], the layer is [${linear.outFeatures}, ${linear.inFeatures}]`,
      );
    a.A.value = keep(fromF32(model.backend, w.a, w.aShape));
    a.B.value = keep(fromF32(model.backend, w.b, w.bShape));
    out.set(path, a);
  }
  return out;
}
