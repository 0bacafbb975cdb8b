/**
 * config.json → the numbers a model is built from. Schemas of the released checkpoints:
 *  - `imp` (Phi-2): the imp-v1 phi-msft keys (n_embd, n_head, n_head_kv, n_inner, n_layer, n_positions, rotary_dim,
 *    layer_norm_epsilon, activation_function) or the v1.5 HF Phi keys (hidden_size, …, partial_rotary_factor,
 *    rope_theta, layer_norm_eps, hidden_act). Absent size keys fall back to the real Phi-2 values, never to the
 *    Phi-1 defaults of the official PhiConfig class (see shared/reference/imp-spec.md §4.1).
 *  - `imp_qwen2` (Qwen1.5), `imp_phi3` (Phi-3-mini), `llava`/`llava_llama` (LLaVA-1.5: LLaMA/Vicuna + CLIP).
 * Multimodal keys: mm_projector_type, mm_hidden_size, mm_vision_select_layer/feature, mm_vision_tower,
 * image_token_index, image_aspect_ratio, vision_tower_config (SigLIP) or a CLIP folder (LLaVA).
 */
import { IMAGE_PLACEMENTS, type ImagePlacement } from "../io/template/index.js";
import { IMAGE_TOKEN_INDEX } from "../io/tokenizer/index.js";
import { CheckpointError } from "../util/errors.js";

export type LlmFamily = "phi2" | "qwen2" | "phi3" | "llama";

export interface LlmConfig {
  family: LlmFamily;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  maxPositions: number;
  normEps: number;
  ropeTheta: number;
  /** Channels of each head that are rotated (Phi-2: 32 of 80). */
  rotaryDim: number;
  act: string;
  tieEmbeddings: boolean;
}

export interface VisionConfig {
  kind: "siglip" | "clip";
  hidden: number;
  intermediate: number;
  heads: number;
  /** Layers of the original tower (num_hidden_layers). */
  totalLayers: number;
  /** Layers run: up to and including mm_vision_select_layer. */
  layers: number;
  patch: number;
  imageSize: number;
  eps: number;
  act: string;
  /** "patch" drops the class token (CLIP); "cls_patch" keeps it. */
  selectFeature: "patch" | "cls_patch";
}

export interface ModelConfig {
  modelType: string;
  llm: LlmConfig;
  vision: VisionConfig | null;
  projectorType: "mlp2x_gelu" | "linear";
  imageTokenIndex: number;
  imageAspectRatio: "square" | "pad" | string;
  /** Where the image goes in its prompt message (`mm_image_placement`); the official checkpoints: before the text. */
  imagePlacement: ImagePlacement;
  /** Where a LLaVA-1.5 config says the CLIP tower is (a hub name or a folder). */
  visionTowerName: string | null;
  maxLength: number;
  bosId: number | null;
  eosId: number | null;
  raw: Record<string, unknown>;
}

type Json = Record<string, unknown>;

export class ConfigReader {
  constructor(
    readonly json: Json,
    readonly file: string,
  ) {}

  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  num(key: string, fallback?: number): number {
    const v = this.json[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new CheckpointError(`${this.file}: missing "${key}" (a number)`);
    }
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new CheckpointError(`${this.file}: "${key}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  int(key: string, fallback?: number): number {
    const v = this.num(key, fallback);
    if (!Number.isInteger(v) || v < 0)
      throw new CheckpointError(`${this.file}: "${key}" must be a non-negative integer, got ${v}`);
    return v;
  }

  str(key: string, fallback?: string): string {
    const v = this.json[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new CheckpointError(`${this.file}: missing "${key}" (a string)`);
    }
    if (typeof v !== "string")
      throw new CheckpointError(`${this.file}: "${key}" must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  /** The first present key among aliases. */
  firstInt(keys: string[], fallback: number): number {
    for (const k of keys) if (this.has(k)) return this.int(k);
    return fallback;
  }

  sub(key: string): ConfigReader {
    const v = this.json[key];
    if (typeof v !== "object" || v === null || Array.isArray(v))
      throw new CheckpointError(`${this.file}: "${key}" must be an object`);
    return new ConfigReader(v as Json, `${this.file} → ${key}`);
  }
}

/** Real Phi-2 sizes, for imp configs that omit them (shared/reference/imp-spec.md §4.1). */
const PHI2 = {
  hidden: 2560,
  layers: 32,
  heads: 32,
  intermediate: 10240,
  vocab: 51200,
  positions: 2048,
  rotary: 0.4,
};

function phi2Llm(c: ConfigReader): LlmConfig {
  const msft = c.has("n_embd") || c.has("n_layer") || c.has("rotary_dim");
  const hidden = c.firstInt(["hidden_size", "n_embd"], PHI2.hidden);
  const heads = c.firstInt(["num_attention_heads", "n_head"], PHI2.heads);
  const headDim = hidden / heads;
  const kvHeads = c.firstInt(["num_key_value_heads", "n_head_kv"], heads);
  const rotaryDim = msft
    ? c.int("rotary_dim", Math.floor(PHI2.rotary * headDim))
    : Math.floor(c.num("partial_rotary_factor", PHI2.rotary) * headDim);
  return {
    family: "phi2",
    hidden,
    layers: c.firstInt(["num_hidden_layers", "n_layer"], PHI2.layers),
    heads,
    kvHeads,
    headDim,
    intermediate: c.firstInt(["intermediate_size", "n_inner"], 4 * hidden),
    vocab: c.int("vocab_size", PHI2.vocab),
    maxPositions: c.firstInt(["max_position_embeddings", "n_positions"], PHI2.positions),
    normEps: c.has("layer_norm_eps") ? c.num("layer_norm_eps") : c.num("layer_norm_epsilon", 1e-5),
    ropeTheta: c.num("rope_theta", 10000),
    rotaryDim,
    act: c.has("hidden_act") ? c.str("hidden_act") : c.str("activation_function", "gelu_new"),
    tieEmbeddings: false,
  };
}

/** LLaMA-style keys (LLaMA/Vicuna, Qwen2, Phi-3); `ropeTheta` is the family's default rope_theta. */
function llamaLikeLlm(c: ConfigReader, family: LlmFamily, ropeTheta: number): LlmConfig {
  const hidden = c.int("hidden_size");
  const heads = c.int("num_attention_heads");
  const headDim = c.has("head_dim") ? c.int("head_dim") : hidden / heads;
  if (c.has("rope_scaling"))
    throw new CheckpointError(
      `${c.file}: "rope_scaling" is set; scaled rotary embeddings are not supported yet`,
    );
  return {
    family,
    hidden,
    layers: c.int("num_hidden_layers"),
    heads,
    kvHeads: c.int("num_key_value_heads", heads),
    headDim,
    intermediate: c.int("intermediate_size"),
    vocab: c.int("vocab_size"),
    maxPositions: c.int("max_position_embeddings", 4096),
    normEps: c.num("rms_norm_eps", 1e-6),
    ropeTheta: c.num("rope_theta", ropeTheta),
    rotaryDim: headDim,
    act: c.str("hidden_act", "silu"),
    tieEmbeddings: c.json.tie_word_embeddings === true,
  };
}

export function visionFromSiglip(v: ConfigReader, selectLayer: number, selectFeature: string): VisionConfig {
  return visionCommon(v, "siglip", selectLayer, selectFeature);
}

export function visionFromClip(v: ConfigReader, selectLayer: number, selectFeature: string): VisionConfig {
  return visionCommon(v, "clip", selectLayer, selectFeature);
}

/** The config classes' defaults (SiglipVisionConfig, CLIPVisionConfig) for keys a tower's config may omit. */
const VISION_DEFAULTS: Readonly<Record<VisionConfig["kind"], { eps: number; act: string }>> = {
  siglip: { eps: 1e-6, act: "gelu_pytorch_tanh" },
  clip: { eps: 1e-5, act: "quick_gelu" },
};

function visionCommon(
  v: ConfigReader,
  kind: "siglip" | "clip",
  selectLayer: number,
  selectFeature: string,
): VisionConfig {
  const total = v.int("num_hidden_layers");
  // hidden_states[0] is the embedding output and hidden_states[i] the output of layer i, so select layer s
  // needs layers 1..(s ≥ 0 ? s : total + 1 + s).
  const layers = selectLayer >= 0 ? selectLayer : total + 1 + selectLayer;
  if (layers < 0 || layers > total)
    throw new CheckpointError(
      `${v.file}: mm_vision_select_layer ${selectLayer} is outside a ${total}-layer tower`,
    );
  if (selectFeature !== "patch" && selectFeature !== "cls_patch")
    throw new CheckpointError(
      `mm_vision_select_feature "${selectFeature}" is not supported (patch, cls_patch)`,
    );
  const hidden = v.int("hidden_size");
  return {
    kind,
    hidden,
    intermediate: v.int("intermediate_size"),
    heads: v.int("num_attention_heads"),
    totalLayers: total,
    layers,
    patch: v.int("patch_size"),
    imageSize: v.int("image_size"),
    eps: v.num("layer_norm_eps", VISION_DEFAULTS[kind].eps),
    act: v.str("hidden_act", VISION_DEFAULTS[kind].act),
    selectFeature,
  };
}

/** `mm_image_placement`: where the image goes in its prompt message; absent = the official placement. */
function readImagePlacement(c: ConfigReader): ImagePlacement {
  const v = c.str("mm_image_placement", "before_text");
  if (!(IMAGE_PLACEMENTS as readonly string[]).includes(v))
    throw new CheckpointError(
      `${c.file}: mm_image_placement "${v}" is not one of ${IMAGE_PLACEMENTS.map((p) => `"${p}"`).join(", ")}`,
    );
  return v as ImagePlacement;
}

/** How one LLM family's config.json keys become an LlmConfig. */
const LLM_CONFIG_READERS: Record<LlmFamily, (c: ConfigReader) => LlmConfig> = {
  phi2: phi2Llm,
  qwen2: (c) => llamaLikeLlm(c, "qwen2", 1e6),
  phi3: (c) => llamaLikeLlm(c, "phi3", 10000),
  llama: (c) => llamaLikeLlm(c, "llama", 10000),
};

/** What a config.json's model_type says: the LLM family, and where the vision tower's config is. */
export interface ModelType {
  family: LlmFamily;
  /**
   * "siglip": a SigLIP tower described by config.json's vision_tower_config (Imp); "clip-folder": a CLIP tower in
   * a folder of its own that mm_vision_tower names, with its own config.json (LLaVA-1.5; the loader finds it).
   */
  vision: "siglip" | "clip-folder";
}

/**
 * The model_types this code reads. Loading is tables all the way: a new checkpoint family is a line here, its
 * LLM family's config reader (LLM_CONFIG_READERS above) and modules (LLM_FAMILIES in llm/families.ts), a layout
 * in layout.ts if it names its tensors its own way, and its conversation template (io/template/registry.ts).
 */
export const MODEL_TYPES: Readonly<Record<string, ModelType>> = {
  imp: { family: "phi2", vision: "siglip" },
  imp_qwen2: { family: "qwen2", vision: "siglip" },
  imp_phi3: { family: "phi3", vision: "siglip" },
  llava: { family: "llama", vision: "clip-folder" },
  llava_llama: { family: "llama", vision: "clip-folder" },
};

/** The entry of a supported model_type, or undefined. */
export function modelTypeOf(modelType: unknown): ModelType | undefined {
  return typeof modelType === "string" && Object.hasOwn(MODEL_TYPES, modelType)
    ? MODEL_TYPES[modelType]
    : undefined;
}

/**
 * Parses an Imp/LLaVA config.json. `towerConfig` is the config.json of a tower folder the config names (the loader
 * finds it): LLaVA-1.5's CLIP folder, or a SigLIP folder shipped inside the checkpoint (Imp-v1.5-3B-196's
 * siglip-so400m-patch14-196/), which then wins over an embedded `vision_tower_config` (see load.ts, towerFolderOf).
 */
export function parseModelConfig(json: Json, file: string, towerConfig?: ConfigReader): ModelConfig {
  const c = new ConfigReader(json, file);
  const modelType = c.str("model_type");
  const type = modelTypeOf(modelType);
  if (!type)
    throw new CheckpointError(
      `${file}: model_type "${modelType}" is not supported; expected one of ${Object.keys(MODEL_TYPES).join(", ")}`,
    );
  const llm = LLM_CONFIG_READERS[type.family](c);
  if (llm.hidden % llm.heads !== 0 && !c.has("head_dim"))
    throw new CheckpointError(`${file}: hidden size ${llm.hidden} is not divisible by ${llm.heads} heads`);
  if (llm.heads % llm.kvHeads !== 0)
    throw new CheckpointError(
      `${file}: ${llm.heads} attention heads are not divisible by ${llm.kvHeads} KV heads`,
    );
  const selectLayer = c.has("mm_vision_select_layer") ? c.num("mm_vision_select_layer") : -2;
  const selectFeature = c.str("mm_vision_select_feature", "patch");
  let vision: VisionConfig | null = null;
  if (type.vision === "clip-folder") {
    if (towerConfig) vision = visionFromClip(towerConfig, selectLayer, selectFeature);
  } else if (towerConfig) {
    vision = visionFromSiglip(towerConfig, selectLayer, selectFeature);
  } else if (c.has("vision_tower_config")) {
    vision = visionFromSiglip(c.sub("vision_tower_config"), selectLayer, selectFeature);
  } else if (c.has("mm_vision_tower")) {
    throw new CheckpointError(
      `${file}: "vision_tower_config" is missing and no folder "${c.str("mm_vision_tower")}" (mm_vision_tower) ` +
        "with the tower's config.json was found; the SigLIP tower cannot be built",
    );
  }
  const projectorType = c.str("mm_projector_type", "linear");
  if (projectorType !== "mlp2x_gelu" && projectorType !== "linear")
    throw new CheckpointError(
      `${file}: mm_projector_type "${projectorType}" is not supported (mlp2x_gelu, linear)`,
    );
  if (vision && c.has("mm_hidden_size") && c.int("mm_hidden_size") !== vision.hidden)
    throw new CheckpointError(
      `${file}: mm_hidden_size ${c.int("mm_hidden_size")} differs from the vision tower's hidden size ${vision.hidden}`,
    );
  const eos = json.eos_token_id;
  return {
    modelType,
    llm,
    vision,
    projectorType,
    imageTokenIndex: c.has("image_token_index") ? c.int("image_token_index") : IMAGE_TOKEN_INDEX,
    imageAspectRatio: c.str("image_aspect_ratio", "square"),
    imagePlacement: readImagePlacement(c),
    visionTowerName: c.has("mm_vision_tower") ? c.str("mm_vision_tower") : null,
    maxLength: Math.min(c.int("tokenizer_model_max_length", llm.maxPositions), llm.maxPositions),
    bosId: typeof json.bos_token_id === "number" ? json.bos_token_id : null,
    eosId: typeof eos === "number" ? eos : null,
    raw: json,
  };
}
