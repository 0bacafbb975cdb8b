/**
 * Sizes and work computed from a model's config: whether a format fits in WebAssembly's 4 GiB, the weight bytes a
 * decoded token reads, and the FLOPs of a prefill and of a vision encode (for the machine-limit columns).
 */

import type { ModelConfig } from "../../src/models/config.js";
import { parseModelConfig } from "../../src/models/config.js";
import { VISION_PREFIX } from "../../src/models/layout.js";
import { MultimodalModel } from "../../src/models/multimodal.js";
import type { Format, Json } from "./models.js";

export const WASM_LIMIT = 4 * 2 ** 30;
const BYTES: Record<Format, number> = { f32: 4, f16: 2, q8: 34 / 32, q4: 18 / 32 };

export interface Sizes {
  config: ModelConfig;
  /** Parameter counts by part; `llmMatrices` excludes the embeddings and the LM head. */
  vision: number;
  embed: number;
  lmHead: number;
  llmMatrices: number;
  llmVectors: number;
}

export function sizes(json: Json): Sizes {
  const config = parseModelConfig(json, "config.json");
  const s: Sizes = { config, vision: 0, embed: 0, lmHead: 0, llmMatrices: 0, llmVectors: 0 };
  for (const [name, p] of new MultimodalModel(config).namedParameters()) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (name.startsWith(VISION_PREFIX) || name.startsWith("model.mm_projector")) s.vision += n;
    else if (name.startsWith("model.embed_tokens")) s.embed += n;
    else if (name.startsWith("lm_head")) s.lmHead += n;
    else if (p.role === "vector") s.llmVectors += n;
    else s.llmMatrices += n;
  }
  return s;
}

/** Vision weights are kept in half precision with q8/q4 LLMs (the loader's default), else in the LLM's format. */
export function visionFormat(f: Format): Format {
  return f === "q8" || f === "q4" ? "f16" : f;
}

/**
 * WebAssembly heap needed by a generation with `positions` prompt positions and `decode` new tokens: weights,
 * the f32 KV cache, one layer's prefill activations (layers free theirs as they go) and attention's score
 * buffers (≤ 2 × 64 MiB), plus 5 % for the allocator.
 */
export function heapEstimate(
  s: Sizes,
  f: Format,
  positions: number,
  decode: number,
  withVision: boolean,
): number {
  const l = s.config.llm;
  const weights =
    (s.embed + s.lmHead + s.llmMatrices) * BYTES[f] +
    s.llmVectors * 4 +
    (withVision ? s.vision * BYTES[visionFormat(f)] : 0);
  const kv = l.layers * 2 * l.kvHeads * l.headDim * 4 * (positions + decode + 1);
  const act = positions * 4 * (6 * l.hidden + 3 * l.intermediate) + 2 * 64 * 2 ** 20;
  return (weights + kv + act) * 1.05;
}

/** FLOPs of one prefill token through the LLM's matrices (no LM head: only the last row's logits are made). */
export function prefillFlopsPerToken(s: Sizes): number {
  return 2 * s.llmMatrices;
}

/** FLOPs of one image through the tower (the layers run) and the connector: matrices plus attention. */
export function visionFlops(s: Sizes, imageSize?: number): number {
  const v = s.config.vision;
  if (!v) return 0;
  const grid = Math.floor((imageSize ?? v.imageSize) / v.patch);
  const t = grid * grid;
  const perLayer = 4 * v.hidden * v.hidden + 2 * v.hidden * v.intermediate;
  const patch = 3 * v.patch * v.patch * v.hidden;
  const proj = v.hidden * s.config.llm.hidden + s.config.llm.hidden * s.config.llm.hidden;
  return 2 * t * (v.layers * perLayer + patch + proj) + v.layers * 4 * t * t * v.hidden;
}
