/**
 * The language model as a llama.cpp GGUF: one table per architecture from our parameter names to llama.cpp's
 * tensor names, and the hyperparameter keys its loader reads (src/models/{phi2,qwen2,phi3,llama}.cpp and
 * convert_hf_to_gguf.py in ggml-org/llama.cpp; the rules below are restated, not copied).
 *
 *  - phi2:  LayerNorm with bias; q, k, v fused into `attn_qkv` (weight and bias, rows q then k then v);
 *           fc1 → ffn_up, fc2 → ffn_down; output has a bias; partial rotary (rope.dimension_count = rotaryDim).
 *  - qwen2: RMSNorm; separate attn_q/k/v with biases; SwiGLU as ffn_gate, ffn_up, ffn_down.
 *  - phi3:  RMSNorm; attn_qkv fused (no bias); gate and up fused into one `ffn_up` of 2·n_ff rows, gate first
 *           (llama.cpp splits it in half: silu(first) · second).
 *  - llama: like qwen2 without biases, but llama.cpp rotates adjacent channel pairs where HF rotates halves,
 *           so q and k rows are regrouped per head (llama.cpp's converter does the same permutation).
 * Rotary: phi2, qwen2 and phi3 use llama.cpp's NEOX rope (halves), which is HF's; nothing to permute there.
 * Types: norms and biases F32; matrices and embeddings F16/Q8_0/Q4_0 as chosen (tensors.ts).
 * A tied output head (tie_word_embeddings) is left out: llama.cpp then reuses token_embd.
 */
import type { LlmConfig, ModelConfig } from "../../models/config.js";
import { FileType } from "./constants.js";
import type { GgufQuant, PlanEntry } from "./tensors.js";
import { type GgufKv, kv } from "./writer.js";

export const LLM_ARCH: Record<LlmConfig["family"], string> = {
  phi2: "phi2",
  qwen2: "qwen2",
  phi3: "phi3",
  llama: "llama",
};

const L = (i: number, rest: string) => `model.layers.${i}.${rest}`;
const B = (i: number, rest: string) => `blk.${i}.${rest}`;

/** Per-layer tensors of each architecture. */
function layerPlan(cfg: LlmConfig, i: number): PlanEntry[] {
  const m = (name: string, parts: string[], permuteHeads?: number): PlanEntry => ({
    name: B(i, name),
    parts: parts.map((p) => L(i, p)),
    kind: "matrix",
    ...(permuteHeads ? { permuteHeads } : {}),
  });
  const v = (name: string, part: string): PlanEntry => ({
    name: B(i, name),
    parts: [L(i, part)],
    kind: "vector",
  });
  const qkv = (suffix: string) => ["q", "k", "v"].map((x) => `self_attn.${x}_proj.${suffix}`);
  switch (cfg.family) {
    case "phi2":
      return [
        v("attn_norm.weight", "input_layernorm.weight"),
        v("attn_norm.bias", "input_layernorm.bias"),
        m("attn_qkv.weight", qkv("weight")),
        { name: B(i, "attn_qkv.bias"), parts: qkv("bias").map((p) => L(i, p)), kind: "vector" },
        m("attn_output.weight", ["self_attn.dense.weight"]),
        v("attn_output.bias", "self_attn.dense.bias"),
        m("ffn_up.weight", ["mlp.fc1.weight"]),
        v("ffn_up.bias", "mlp.fc1.bias"),
        m("ffn_down.weight", ["mlp.fc2.weight"]),
        v("ffn_down.bias", "mlp.fc2.bias"),
      ];
    case "qwen2":
      return [
        v("attn_norm.weight", "input_layernorm.weight"),
        m("attn_q.weight", ["self_attn.q_proj.weight"]),
        v("attn_q.bias", "self_attn.q_proj.bias"),
        m("attn_k.weight", ["self_attn.k_proj.weight"]),
        v("attn_k.bias", "self_attn.k_proj.bias"),
        m("attn_v.weight", ["self_attn.v_proj.weight"]),
        v("attn_v.bias", "self_attn.v_proj.bias"),
        m("attn_output.weight", ["self_attn.o_proj.weight"]),
        v("ffn_norm.weight", "post_attention_layernorm.weight"),
        m("ffn_gate.weight", ["mlp.gate_proj.weight"]),
        m("ffn_up.weight", ["mlp.up_proj.weight"]),
        m("ffn_down.weight", ["mlp.down_proj.weight"]),
      ];
    case "phi3":
      return [
        v("attn_norm.weight", "input_layernorm.weight"),
        m("attn_qkv.weight", qkv("weight")),
        m("attn_output.weight", ["self_attn.o_proj.weight"]),
        v("ffn_norm.weight", "post_attention_layernorm.weight"),
        m("ffn_up.weight", ["mlp.gate_proj.weight", "mlp.up_proj.weight"]),
        m("ffn_down.weight", ["mlp.down_proj.weight"]),
      ];
    case "llama":
      return [
        v("attn_norm.weight", "input_layernorm.weight"),
        m("attn_q.weight", ["self_attn.q_proj.weight"], cfg.heads),
        m("attn_k.weight", ["self_attn.k_proj.weight"], cfg.kvHeads),
        m("attn_v.weight", ["self_attn.v_proj.weight"]),
        m("attn_output.weight", ["self_attn.o_proj.weight"]),
        v("ffn_norm.weight", "post_attention_layernorm.weight"),
        m("ffn_gate.weight", ["mlp.gate_proj.weight"]),
        m("ffn_up.weight", ["mlp.up_proj.weight"]),
        m("ffn_down.weight", ["mlp.down_proj.weight"]),
      ];
  }
}

/** Every LLM tensor, in llama.cpp's usual order: embeddings, layers, final norm, head. */
export function llmPlan(cfg: LlmConfig): PlanEntry[] {
  const plan: PlanEntry[] = [
    { name: "token_embd.weight", parts: ["model.embed_tokens.weight"], kind: "matrix" },
  ];
  for (let i = 0; i < cfg.layers; i++) plan.push(...layerPlan(cfg, i));
  const norm = cfg.family === "phi2" ? "model.final_layernorm" : "model.norm";
  plan.push({ name: "output_norm.weight", parts: [`${norm}.weight`], kind: "vector" });
  if (cfg.family === "phi2") plan.push({ name: "output_norm.bias", parts: [`${norm}.bias`], kind: "vector" });
  if (!cfg.tieEmbeddings) plan.push({ name: "output.weight", parts: ["lm_head.weight"], kind: "matrix" });
  if (cfg.family === "phi2") plan.push({ name: "output.bias", parts: ["lm_head.bias"], kind: "vector" });
  return plan;
}

export const FILE_TYPE: Record<GgufQuant, number> = {
  f32: FileType.ALL_F32,
  f16: FileType.MOSTLY_F16,
  q8_0: FileType.MOSTLY_Q8_0,
  q4_0: FileType.MOSTLY_Q4_0,
};

/** general.* and the architecture's hyperparameters. */
export function llmMetadata(config: ModelConfig, name: string, quant: GgufQuant): GgufKv[] {
  const c = config.llm;
  const a = LLM_ARCH[c.family];
  const kvs: GgufKv[] = [
    kv.string("general.architecture", a),
    kv.string("general.type", "model"),
    kv.string("general.name", name),
    kv.u32("general.file_type", FILE_TYPE[quant]),
    kv.u32(`${a}.context_length`, c.maxPositions),
    kv.u32(`${a}.embedding_length`, c.hidden),
    kv.u32(`${a}.block_count`, c.layers),
    kv.u32(`${a}.feed_forward_length`, c.intermediate),
    kv.u32(`${a}.attention.head_count`, c.heads),
    kv.u32(`${a}.attention.head_count_kv`, c.kvHeads),
    kv.f32(`${a}.rope.freq_base`, c.ropeTheta),
    kv.u32(`${a}.rope.dimension_count`, c.rotaryDim),
    c.family === "phi2"
      ? kv.f32(`${a}.attention.layer_norm_epsilon`, c.normEps)
      : kv.f32(`${a}.attention.layer_norm_rms_epsilon`, c.normEps),
  ];
  // llama.cpp assumes head size = hidden / heads unless told.
  if (c.headDim * c.heads !== c.hidden)
    kvs.push(
      kv.u32(`${a}.attention.key_length`, c.headDim),
      kv.u32(`${a}.attention.value_length`, c.headDim),
    );
  if (c.family === "llama") kvs.push(kv.u32(`${a}.vocab_size`, c.vocab));
  return kvs;
}
