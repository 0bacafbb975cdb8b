/**
 * Which template a checkpoint uses, from config.json's `model_type` (what Imp's and LLaVA's eval scripts pass
 * as `--conv-mode` for each released model).
 */
import { CheckpointError, UsageError } from "../../util/errors.js";
import { phi2Template } from "./phi2.js";
import { phi3Template } from "./phi3.js";
import { qwen2Template } from "./qwen2.js";
import type { ConversationTemplate, TemplateName } from "./types.js";
import { vicunaV1Template } from "./vicuna.js";

export const TEMPLATES: Readonly<Record<TemplateName, ConversationTemplate>> = Object.freeze({
  phi2: phi2Template,
  qwen2: qwen2Template,
  phi3: phi3Template,
  vicuna_v1: vicunaV1Template,
});

const BY_MODEL_TYPE: Readonly<Record<string, TemplateName>> = Object.freeze({
  imp: "phi2",
  imp_qwen2: "qwen2",
  imp_phi3: "phi3",
  llava: "vicuna_v1",
  llava_llama: "vicuna_v1",
});

export function templateForModelType(modelType: string): ConversationTemplate {
  const name = BY_MODEL_TYPE[modelType];
  if (name === undefined) {
    throw new CheckpointError(
      `config.json: no conversation template for model_type "${modelType}" ` +
        `(known: ${Object.keys(BY_MODEL_TYPE).join(", ")})`,
    );
  }
  return TEMPLATES[name];
}

export function getTemplate(name: string): ConversationTemplate {
  if (!Object.hasOwn(TEMPLATES, name)) {
    throw new UsageError(`no conversation template "${name}" (known: ${Object.keys(TEMPLATES).join(", ")})`);
  }
  return TEMPLATES[name as TemplateName];
}
