/**
 * LLaVA-1.5's `vicuna_v1` template (haotian-liu/LLaVA llava/conversation.py `conv_vicuna_v1`; Imp keeps an
 * identical copy): separator style TWO like Imp's phi2, on a Llama tokenizer that prepends `<s>`:
 *   "{system} USER: <image>\n{question} ASSISTANT:"
 * Turns end with `</s>` (id 2), the stop keyword of LLaVA's eval scripts. preprocess_v1 masks BOS and the
 * prompt up to "ASSISTANT:" and trains on " {answer}</s>".
 */
import { IMP_SYSTEM } from "./phi2.js";
import { defineTemplate } from "./render.js";

export const vicunaV1Template = defineTemplate(
  "vicuna_v1",
  {
    defaultSystem: IMP_SYSTEM,
    systemPrefix: "",
    systemSuffix: " ",
    userPrefix: "USER: ",
    userSuffix: " ",
    assistantPrefix: "ASSISTANT:",
    replyPrefix: " ",
    assistantSuffix: "</s>",
  },
  { strings: ["</s>"], tokens: ["</s>"] },
);
