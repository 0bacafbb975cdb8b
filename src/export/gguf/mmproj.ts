/**
 * The vision tower and connector as the `mmproj` GGUF that llama.cpp's multimodal tools (tools/mtmd, clip.cpp;
 * Ollama's vendored copy) load beside the LLM, laid out as llama.cpp's LLaVA converters write it
 * (legacy-models/convert_image_encoder_to_gguf.py; the rules are restated here):
 *
 *   general.architecture "clip", clip.has_vision_encoder, clip.projector_type "mlp" (clip.has_llava_projector
 *   for older readers), clip.use_gelu (SigLIP's tanh GELU) or neither flag (CLIP's quick GELU),
 *   clip.vision.{image_size, patch_size, embedding_length, feed_forward_length, block_count,
 *   attention.head_count, attention.layer_norm_epsilon, projection_dim (the LLM's width), image_mean,
 *   image_std}.
 *   Tensors: v.patch_embd.weight (conv kernel, F16) [+ .bias for SigLIP], v.class_embd (CLIP),
 *   v.position_embd.weight, v.pre_ln.* (CLIP's pre_layrnorm), v.blk.N.{ln1, attn_q, attn_k, attn_v, attn_out,
 *   ln2, ffn_up (fc1), ffn_down (fc2)}.{weight,bias}, mm.0.* and mm.2.* (the two linears of mlp2x_gelu).
 *
 * Feature layer: LLaVA and Imp take hidden_states[select_layer] (−2: the input of the last block) without the
 * post-LayerNorm. Only the blocks that run are stored (the loader reads no more): block_count = the blocks run
 * and clip.vision.feature_layer = [that count] (non-negative, an index into hidden_states where 0 is the
 * embeddings), so clip.cpp runs every stored block and takes the last output; v.post_ln is not written.
 * The class token (CLIP) is dropped by clip.cpp's llava graph, as mm_vision_select_feature "patch" does.
 *
 * Checked once against llama.cpp's own encoder (tools/mtmd llama-mtmd-debug, built from the llama.cpp source
 * node-llama-cpp bundles): the SigLIP fixture's image embeddings agree with ours to ~1e-4, and a real-shape
 * SigLIP-so400m/384 file runs 26 blocks and gives 729 tokens of 2560. Known differences:
 *  - clip.cpp's projector GELU is the tanh approximation; mlp2x_gelu uses the exact (erf) one.
 *  - CLIP towers (LLaVA-1.5): clip.cpp's llava graph appends the class token after the patches but adds
 *    position embeddings and picks the output rows as if it came first (class position 0, patches 1..N, as
 *    HF stores them and as written here), so its features are shifted against LLaVA's. That is clip.cpp's,
 *    for every LLaVA-1.5 mmproj; the file here is laid out as llama.cpp's converter lays it out.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelConfig } from "../../models/config.js";
import { VISION_PREFIX } from "../../models/layout.js";
import { CheckpointError } from "../../util/errors.js";
import { FILE_TYPE } from "./llm.js";
import type { GgufQuant, PlanEntry } from "./tensors.js";
import { type GgufKv, kv } from "./writer.js";

const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/** Why a model's vision part cannot be written as an mmproj, or null when it can. */
export function mmprojUnsupported(config: ModelConfig): string | null {
  const v = config.vision;
  if (!v) return "the model has no vision tower";
  if (config.projectorType !== "mlp2x_gelu")
    return `projector "${config.projectorType}": clip.cpp's "mlp" projector is two linears with a GELU`;
  if (v.selectFeature !== "patch")
    return 'mm_vision_select_feature "cls_patch": clip.cpp always drops the class token';
  if (v.intermediate === v.hidden)
    return "the tower's feed-forward width equals its hidden width, which clip.cpp would read as swapped ffn_up/ffn_down";
  return null;
}

/** Every mmproj tensor present in the model. */
export function mmprojPlan(config: ModelConfig, has: (name: string) => boolean): PlanEntry[] {
  const v = config.vision!;
  const P = (rest: string) => `${VISION_PREFIX}${rest}`;
  const plan: PlanEntry[] = [];
  const add = (name: string, part: string, kind: PlanEntry["kind"]) => {
    if (has(part)) plan.push({ name, parts: [part], kind });
  };
  add("v.patch_embd.weight", P("embeddings.patch_embedding.weight"), "conv");
  add("v.patch_embd.bias", P("embeddings.patch_embedding.bias"), "vector");
  add("v.class_embd", P("embeddings.class_embedding"), "vector");
  add("v.position_embd.weight", P("embeddings.position_embedding.weight"), "table");
  add("v.pre_ln.weight", P("pre_layrnorm.weight"), "vector");
  add("v.pre_ln.bias", P("pre_layrnorm.bias"), "vector");
  const ours: Array<[string, string]> = [
    ["ln1", "layer_norm1"],
    ["attn_q", "self_attn.q_proj"],
    ["attn_k", "self_attn.k_proj"],
    ["attn_v", "self_attn.v_proj"],
    ["attn_out", "self_attn.out_proj"],
    ["ln2", "layer_norm2"],
    ["ffn_up", "mlp.fc1"],
    ["ffn_down", "mlp.fc2"],
  ];
  for (let i = 0; i < v.layers; i++)
    for (const [g, o] of ours) {
      const kind = g.startsWith("ln") ? "vector" : "matrix";
      add(`v.blk.${i}.${g}.weight`, P(`encoder.layers.${i}.${o}.weight`), kind);
      add(`v.blk.${i}.${g}.bias`, P(`encoder.layers.${i}.${o}.bias`), "vector");
    }
  for (const j of [0, 2]) {
    add(`mm.${j}.weight`, `model.mm_projector.${j}.weight`, "matrix");
    add(`mm.${j}.bias`, `model.mm_projector.${j}.bias`, "vector");
  }
  return plan;
}

/** Mean and std of the tower's image processor: SigLIP's 0.5, or the CLIP folder's preprocessor config. */
export function imageNormalization(
  config: ModelConfig,
  visionFolder: string | null,
): { mean: number[]; std: number[] } {
  if (config.vision?.kind === "siglip") return { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
  const file = visionFolder ? join(visionFolder, "preprocessor_config.json") : null;
  if (file && existsSync(file)) {
    const j = JSON.parse(readFileSync(file, "utf8")) as { image_mean?: unknown; image_std?: unknown };
    const triple = (x: unknown) =>
      Array.isArray(x) && x.length === 3 && x.every((n) => typeof n === "number") ? (x as number[]) : null;
    const mean = triple(j.image_mean);
    const std = triple(j.image_std);
    if (!mean || !std) throw new CheckpointError(`${file}: image_mean and image_std must be 3 numbers each`);
    return { mean, std };
  }
  return { mean: OPENAI_CLIP_MEAN, std: OPENAI_CLIP_STD };
}

export function mmprojMetadata(
  config: ModelConfig,
  name: string,
  quant: GgufQuant,
  norm: { mean: number[]; std: number[] },
): GgufKv[] {
  const v = config.vision!;
  const gelu = v.act === "gelu_pytorch_tanh" || v.act === "gelu" || v.act === "gelu_new";
  const silu = v.act === "silu";
  if (!gelu && !silu && v.act !== "quick_gelu")
    throw new CheckpointError(`vision tower activation "${v.act}" has no clip.cpp equivalent`);
  return [
    kv.string("general.architecture", "clip"),
    kv.string("general.type", "mmproj"),
    kv.string("general.name", name),
    kv.u32("general.file_type", FILE_TYPE[quant]),
    kv.bool("clip.has_text_encoder", false),
    kv.bool("clip.has_vision_encoder", true),
    kv.bool("clip.has_llava_projector", true),
    kv.string("clip.projector_type", "mlp"),
    kv.bool("clip.use_gelu", gelu),
    kv.bool("clip.use_silu", silu),
    kv.u32("clip.vision.image_size", v.imageSize),
    kv.u32("clip.vision.patch_size", v.patch),
    kv.u32("clip.vision.embedding_length", v.hidden),
    kv.u32("clip.vision.feed_forward_length", v.intermediate),
    kv.u32("clip.vision.projection_dim", config.llm.hidden),
    kv.u32("clip.vision.block_count", v.layers),
    kv.u32("clip.vision.attention.head_count", v.heads),
    kv.f32("clip.vision.attention.layer_norm_epsilon", v.eps),
    kv.array("clip.vision.feature_layer", "i32", [v.layers]),
    kv.array("clip.vision.image_mean", "f32", norm.mean),
    kv.array("clip.vision.image_std", "f32", norm.std),
  ];
}
