/**
 * Imp's Phi-3 template (Imp-v1.5-4B-Phi3): `conv_phi3` in Imp's imp_llava/conversation.py, style PHI3:
 *   "<|system|>\n{system}<|end|>\n<|user|>\n<image>\n{question}<|end|>\n<|assistant|>\n"
 * (the HF model card's example leaves the system part out; the training and eval code keep it). Replies end
 * with `<|end|>`. Generation stops at the generation_config eos list: `<|endoftext|>` 32000,
 * `<|assistant|>` 32001, `<|end|>` 32007; the eval keyword is `<|end|>`. preprocess_phi3 masks BOS and the
 * prompt, and trains on "{answer}<|end|>".
 */
import { IMP_SYSTEM } from "./phi2.js";
import { defineTemplate } from "./render.js";

export const phi3Template = defineTemplate(
  "phi3",
  {
    defaultSystem: IMP_SYSTEM,
    systemPrefix: "<|system|>\n",
    systemSuffix: "<|end|>",
    userPrefix: "\n<|user|>\n",
    userSuffix: "<|end|>",
    assistantPrefix: "\n<|assistant|>\n",
    replyPrefix: "",
    assistantSuffix: "<|end|>",
  },
  { strings: ["<|end|>"], tokens: ["<|endoftext|>", "<|assistant|>", "<|end|>"] },
);
