/**
 * The LLM families as a table: the decoder layer each is built from, its final norm (checkpoint name and kind)
 * and whether its LM head has a bias. DecoderLM reads it; config.json's model_type picks the family
 * (MODEL_TYPES in ../config.ts), and a family's config keys are read by its entry in LLM_CONFIG_READERS there.
 */
import type { AttentionContext, SelfAttention } from "../../nn/attention.js";
import { LayerNorm, RMSNorm } from "../../nn/layers.js";
import type { Module } from "../../nn/module.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { LlmConfig, LlmFamily } from "../config.js";
import { LlamaDecoderLayer } from "./llama.js";
import { Phi2DecoderLayer } from "./phi2.js";

/** One decoder layer: hidden states [T, H] in, [T, H] out. */
export interface DecoderLayer extends Module {
  readonly self_attn: SelfAttention;
  forward(x: Tensor, ctx: AttentionContext): Tensor;
}

export interface LlmFamilyModules {
  layer(cfg: LlmConfig): DecoderLayer;
  /** The norm after the last layer, under its checkpoint name. */
  finalNorm: { name: string; create(cfg: LlmConfig): LayerNorm | RMSNorm };
  lmHeadBias: boolean;
}

const RMS_NORM = { name: "model.norm", create: (cfg: LlmConfig) => new RMSNorm(cfg.hidden, cfg.normEps) };

export const LLM_FAMILIES: Readonly<Record<LlmFamily, LlmFamilyModules>> = {
  phi2: {
    layer: (cfg) => new Phi2DecoderLayer(cfg),
    finalNorm: { name: "model.final_layernorm", create: (cfg) => new LayerNorm(cfg.hidden, cfg.normEps) },
    lmHeadBias: true,
  },
  qwen2: {
    layer: (cfg) => new LlamaDecoderLayer(cfg, { qkvBias: true }),
    finalNorm: RMS_NORM,
    lmHeadBias: false,
  },
  phi3: {
    layer: (cfg) => new LlamaDecoderLayer(cfg, { qkvBias: false }),
    finalNorm: RMS_NORM,
    lmHeadBias: false,
  },
  llama: {
    layer: (cfg) => new LlamaDecoderLayer(cfg, { qkvBias: false }),
    finalNorm: RMS_NORM,
    lmHeadBias: false,
  },
};
