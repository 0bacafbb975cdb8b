/**
 * What a run trains, per mode (Imp: scripts/pretrain.sh, finetune_lora.sh, finetune.sh):
 *  - connector: the mm_projector only (stage 1; LLM and vision tower frozen);
 *  - lora:      LoRA adapters on the LLM's linear layers (every one, lm_head included, by default) and the whole
 *               connector, the connector with its own learning rate (stage 2);
 *  - full:      every LLM parameter and the connector (the paper's full fine-tuning comparison).
 * The vision tower is always frozen. Trainable tensors are widened to f32; the frozen base stays as loaded (f16,
 * bf16, or q8/q4 for QLoRA-style training). Parameter groups follow LLaVATrainer.create_optimizer: decay and
 * no-decay (biases, norm weights) for the LLM side and for the connector.
 */

import { VISION_PREFIX } from "../models/layout.js";
import type { MultimodalModel } from "../models/multimodal.js";
import { Linear } from "../nn/layers.js";
import type { LoraAdapter } from "../nn/lora.js";
import type { Param } from "../nn/module.js";
import { cast } from "../tensor/ops/index.js";
import { keep } from "../tensor/scope.js";
import { UsageError } from "../util/errors.js";
import type { Rng } from "../util/random.js";
import type { ParamGroup, TrainableParam } from "./adamw.js";
import type { LoraRecipe, TrainMode } from "./recipe.js";

export const CONNECTOR_PREFIX = "model.mm_projector.";

export interface TrainableSetup {
  mode: TrainMode;
  groups: ParamGroup[];
  /** LoRA adapters by the path of the Linear they adapt (`model.layers.0.self_attn.q_proj`, `lm_head`). */
  adapters: Map<string, LoraAdapter>;
}

export interface TrainableOptions {
  mode: TrainMode;
  lora: LoraRecipe;
  lr: number;
  connectorLr: number | null;
  weightDecay: number;
}

/** The LLM's Linear layers a LoRA target list selects (PEFT: by the last component of the module name). */
export function loraTargets(
  model: MultimodalModel,
  targets: LoraRecipe["targetModules"],
): Array<[string, Linear]> {
  const all = model.llm.namedModules().filter((e): e is [string, Linear] => e[1] instanceof Linear);
  if (targets === "all-linear") return all;
  const picked = all.filter(([path]) => targets.includes(path.split(".").pop()!));
  const known = new Set(all.map(([p]) => p.split(".").pop()!));
  const unknown = targets.filter((t) => !known.has(t));
  if (unknown.length > 0)
    throw new UsageError(
      `lora.target_modules: ${unknown.join(", ")} match no linear layer of the LLM (it has ${[...known].join(", ")})`,
    );
  return picked;
}

/** Makes a parameter trainable: an f32 copy (if not f32 already) that records gradients. */
function train(p: Param): void {
  if (p.value.dtype !== "f32") p.value = keep(cast(p.value, "f32"));
  p.value.requiresGrad = true;
  p.trainable = true;
}

/**
 * Freezes the model, attaches LoRA adapters when asked (A from `rng`, B = 0; dropout draws from `rng` too), and
 * returns the trainable parameters in their groups.
 */
export function setupTrainable(model: MultimodalModel, o: TrainableOptions, rng: Rng): TrainableSetup {
  if (!model.projector) throw new UsageError("this model has no connector (mm_projector) to train");
  for (const [, p] of model.namedParameters()) {
    p.trainable = false;
    if (p.loaded) p.value.requiresGrad = false;
  }
  const adapters = new Map<string, LoraAdapter>();
  if (o.mode === "lora") {
    const cfg = { rank: o.lora.rank, alpha: o.lora.alpha, dropout: o.lora.dropout };
    for (const [path, linear] of loraTargets(model, o.lora.targetModules)) {
      const a = linear.attachLora(cfg, rng);
      a.init(model.backend);
      adapters.set(path, a);
    }
  }
  const connector: Array<[string, Param]> = [];
  const llm: Array<[string, Param]> = [];
  for (const [name, p] of model.namedParameters()) {
    if (name.startsWith(CONNECTOR_PREFIX)) connector.push([name, p]);
    else if (o.mode === "full" && !name.startsWith(VISION_PREFIX)) llm.push([name, p]);
    else if (o.mode === "lora" && /\.lora_[AB]\.weight$/.test(name)) llm.push([name, p]);
  }
  for (const [, p] of [...llm, ...connector]) train(p);
  const split = (ps: Array<[string, Param]>, decay: boolean): TrainableParam[] =>
    ps.filter(([, p]) => (p.role !== "vector") === decay).map(([name, p]) => ({ name, tensor: p.value }));
  const connectorLr = o.connectorLr ?? o.lr;
  const groups: ParamGroup[] = [
    { name: "llm", lr: o.lr, weightDecay: o.weightDecay, params: split(llm, true) },
    { name: "llm_no_decay", lr: o.lr, weightDecay: 0, params: split(llm, false) },
    { name: "connector", lr: connectorLr, weightDecay: o.weightDecay, params: split(connector, true) },
    { name: "connector_no_decay", lr: connectorLr, weightDecay: 0, params: split(connector, false) },
  ].filter((g) => g.params.length > 0);
  return { mode: o.mode, groups, adapters };
}
