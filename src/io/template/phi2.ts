/**
 * Imp's Phi-2 template (imp-v1-3b, Imp-v1.5-3B-Phi2, Imp-v1.5-3B-196): `conv_phi2` in Imp's
 * imp_llava/conversation.py, separator style TWO (sep " ", sep2 "</s>", roles USER/ASSISTANT), the same text
 * the HF model cards and the MLC "imp" template use. One question with an image renders as
 *   "{system} USER: <image>\n{question} ASSISTANT:"
 * and a finished turn as "... ASSISTANT: {answer}</s>USER: ...". Generation stops at `</s>` (50295), the
 * checkpoint's eos_token_id, also the eval scripts' stop keyword.
 */
import { defineTemplate } from "./render.js";

/** The system prompt shared by phi2, qwen2, phi3 and vicuna_v1. */
export const IMP_SYSTEM =
  "A chat between a curious user and an artificial intelligence assistant. " +
  "The assistant gives helpful, detailed, and polite answers to the user's questions.";

export const phi2Template = defineTemplate(
  "phi2",
  {
    defaultSystem: IMP_SYSTEM,
    systemPrefix: "",
    systemSuffix: " ",
    userPrefix: "USER: ",
    userSuffix: " ",
    assistantPrefix: "ASSISTANT:",
    // preprocess_phi2 masks the prompt up to "ASSISTANT:" (its "- 1" drops the lone space token), so the
    // space joined to the answer's first word is trained on.
    replyPrefix: " ",
    assistantSuffix: "</s>",
  },
  { strings: ["</s>"], tokens: ["</s>"] },
);
