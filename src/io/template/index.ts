/** Conversation templates of the Imp and LLaVA-1.5 checkpoints, and training labels for rendered chats. */
export { IGNORE_INDEX, type TokenizedConversation, tokenizeConversation } from "./labels.js";
export { IMP_SYSTEM, phi2Template } from "./phi2.js";
export { phi3Template } from "./phi3.js";
export { qwen2Template } from "./qwen2.js";
export { getTemplate, TEMPLATES, templateForModelType } from "./registry.js";
export { defineTemplate, renderConversation } from "./render.js";
export type {
  ChatMessage,
  ConversationTemplate,
  ImagePlacement,
  RenderedConversation,
  RenderOptions,
  Role,
  Span,
  TemplateName,
  TemplateParts,
} from "./types.js";
export { IMAGE_PLACEMENTS } from "./types.js";
export { vicunaV1Template } from "./vicuna.js";
