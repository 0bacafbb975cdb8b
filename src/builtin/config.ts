/** config.json of the built-in model: an Imp-v1.5 `imp_qwen2` checkpoint of the plan's sizes. */
import type { Tokenizer } from "../io/tokenizer/index.js";
import type { BuiltinPlan } from "./plan.js";

/** The world tokenizer's special tokens that the model's config names. */
export const SPECIAL = { eot: "<|endoftext|>", imEnd: "<|im_end|>", image: "<image>" };

/** config.json of the built-in model (Imp-v1.5 `imp_qwen2` schema). */
export function builtinConfig(plan: BuiltinPlan, tok: Tokenizer): Record<string, unknown> {
  const m = plan.model;
  const id = (t: string) => {
    const v = tok.tokenToId(t);
    if (v === undefined) throw new Error(`the world tokenizer lacks ${t}`);
    return v;
  };
  return {
    architectures: ["ImpQwen2ForCausalLM"],
    model_type: "imp_qwen2",
    hidden_size: m.hidden,
    intermediate_size: m.intermediate,
    num_hidden_layers: m.layers,
    num_attention_heads: m.heads,
    num_key_value_heads: m.kvHeads,
    hidden_act: "silu",
    rms_norm_eps: 1e-6,
    rope_theta: 10000.0,
    // Embedding rows padded to a multiple of 64, as released checkpoints pad theirs.
    vocab_size: Math.ceil(tok.vocabSize / 64) * 64,
    max_position_embeddings: m.maxPositions,
    tie_word_embeddings: false,
    use_sliding_window: false,
    eos_token_id: id(SPECIAL.imEnd),
    pad_token_id: id(SPECIAL.eot),
    image_token: SPECIAL.image,
    image_token_index: id(SPECIAL.image),
    image_aspect_ratio: "square",
    mm_image_placement: m.imagePlacement,
    tokenizer_model_max_length: m.maxPositions,
    tokenizer_padding_side: "right",
    mm_projector_type: "mlp2x_gelu",
    mm_hidden_size: m.visionHidden,
    mm_vision_select_layer: -2,
    mm_vision_select_feature: "patch",
    mm_vision_tower: "imp-ts/siglip-world-tiny",
    mm_use_im_start_end: false,
    mm_use_im_patch_token: false,
    vision_tower_config: {
      model_type: "siglip_vision_model",
      hidden_size: m.visionHidden,
      intermediate_size: 4 * m.visionHidden,
      num_attention_heads: m.visionHeads,
      // The released configs give the original tower's depth; select layer −2 drops its last layer.
      num_hidden_layers: m.visionLayers + 1,
      patch_size: m.patch,
      image_size: m.imageSize,
      num_channels: 3,
      layer_norm_eps: 1e-6,
      hidden_act: "gelu_pytorch_tanh",
    },
    torch_dtype: "float16",
  };
}
