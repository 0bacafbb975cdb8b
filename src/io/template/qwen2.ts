/**
 * Imp's Qwen1.5 template (Imp-v1.5-2B-Qwen1.5): `conv_qwen2` in Imp's imp_llava/conversation.py, style QWEN2,
 * ChatML with Imp's system prompt and newlines between turns:
 *   "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n<image>\n{question}<|im_end|>\n<|im_start|>assistant\n"
 * Replies end with `<|im_end|>`. Generation stops at `<|im_end|>` (151645) or `<|endoftext|>` (151643), the
 * checkpoint's generation_config eos list; the eval keyword is `<|im_end|>`. preprocess_qwen2 trains on
 * "{answer}<|im_end|>" (the newline after it belongs to the next user turn).
 */
import { IMP_SYSTEM } from "./phi2.js";
import { defineTemplate } from "./render.js";

export const qwen2Template = defineTemplate(
  "qwen2",
  {
    defaultSystem: IMP_SYSTEM,
    systemPrefix: "<|im_start|>system\n",
    systemSuffix: "<|im_end|>",
    userPrefix: "\n<|im_start|>user\n",
    userSuffix: "<|im_end|>",
    assistantPrefix: "\n<|im_start|>assistant\n",
    replyPrefix: "",
    assistantSuffix: "<|im_end|>",
  },
  { strings: ["<|im_end|>"], tokens: ["<|im_end|>", "<|endoftext|>"] },
);
