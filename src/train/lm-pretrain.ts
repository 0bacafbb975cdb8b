/**
 * Language-model pretraining of the LLM on a text corpus (how the LLMs Imp starts from were made, at toy
 * scale): the corpus is tokenised document by document with an end-of-text token between documents, cut into
 * sequences of a fixed length, and every next token is predicted (no masking). Steps reuse the Trainer (token
 * mean over the batch, clipping, AdamW, cosine schedule) with all LLM weights trainable.
 */
import type { Tokenizer } from "../io/tokenizer/index.js";
import type { MultimodalModel } from "../models/multimodal.js";
import type { Param } from "../nn/module.js";
import { cast } from "../tensor/ops/convert.js";
import { keep } from "../tensor/scope.js";
import type { ParamGroup, TrainableParam } from "./adamw.js";
import { AdamW } from "./adamw.js";
import type { PreparedExample } from "./encode.js";
import { makeSchedule } from "./schedule.js";
import { Trainer } from "./trainer.js";

/** Documents (separated by blank lines) → token sequences of `length`, EOT between documents. */
export function corpusSequences(
  tokenizer: Tokenizer,
  text: string,
  length: number,
  eot: number,
  maxTokens = Infinity,
): number[][] {
  const stream: number[] = [];
  for (const doc of text.split(/\n\s*\n/)) {
    const d = doc.trim();
    if (!d) continue;
    for (const id of tokenizer.encode(d)) stream.push(id);
    stream.push(eot);
    if (stream.length >= maxTokens) break;
  }
  const out: number[][] = [];
  for (let i = 0; i + length <= stream.length; i += length) out.push(stream.slice(i, i + length));
  return out;
}

export interface LmPretrainOptions {
  steps: number;
  /** Sequences per optimizer step. */
  batch: number;
  lr: number;
  warmupRatio: number;
  weightDecay: number;
  /** The sequences of step s. */
  sequences: (step: number) => number[][];
  onStep?: (step: number, info: { loss: number; lr: number; ms: number; tokens: number }) => void;
}

/** Trains every LLM parameter (embeddings, layers, norm, head) for `steps` steps. */
export function pretrainLm(model: MultimodalModel, o: LmPretrainOptions): number {
  const llm: Array<[string, Param]> = model.llm.namedParameters();
  const decay: TrainableParam[] = [];
  const noDecay: TrainableParam[] = [];
  for (const [name, p] of llm) {
    if (p.value.dtype !== "f32") p.value = keep(cast(p.value, "f32"));
    p.value.requiresGrad = true;
    p.trainable = true;
    (p.role === "vector" ? noDecay : decay).push({ name, tensor: p.value });
  }
  const groups: ParamGroup[] = [
    { name: "llm", lr: o.lr, weightDecay: o.weightDecay, params: decay },
    { name: "llm_no_decay", lr: o.lr, weightDecay: 0, params: noDecay },
  ];
  const opt = new AdamW(groups, { beta1: 0.9, beta2: 0.95, eps: 1e-8 });
  const trainer = new Trainer(model, opt, makeSchedule("cosine", o.steps, o.warmupRatio), {
    maxGradNorm: 1,
    maxLength: Number.MAX_SAFE_INTEGER,
  });
  let loss = Number.NaN;
  for (let step = 0; step < o.steps; step++) {
    const batch: PreparedExample[] = o.sequences(step).map((ids, i) => ({
      ids,
      labels: ids,
      pixels: null,
      imageTokenLabels: null,
      targets: ids.length - 1,
      positions: ids.length,
      where: `corpus step ${step} sequence ${i}`,
    }));
    const r = trainer.step(step, batch);
    loss = r.loss;
    o.onStep?.(step, { loss: r.loss, lr: r.lr, ms: r.ms, tokens: r.positions });
  }
  for (const [, p] of llm) {
    p.value.requiresGrad = false;
    p.trainable = false;
  }
  return loss;
}
