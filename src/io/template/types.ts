/**
 * The shapes shared by the conversation templates: messages in, prompt text and reply spans out.
 * A template turns a chat (optional system message, then user/assistant turns) into the exact prompt text
 * the official code builds (`Conversation.get_prompt` in Imp's and LLaVA's conversation.py), and marks where
 * each assistant reply lies in that text so training can put the loss on the replies only.
 */

export type Role = "system" | "user" | "assistant";

export interface ChatMessage {
  role: Role;
  content: string;
}

/** Half-open character range [start, end) of the rendered text (UTF-16 code units, as `String.slice`). */
export interface Span {
  start: number;
  end: number;
}

/**
 * Where the image goes in the user message that carries it, a property of the model (config.json's
 * `mm_image_placement`): `before_text` as every official Imp and LLaVA checkpoint was trained ("<image>\n" + the
 * question); `after_text` for a model trained with the question first (the question + "\n<image>"), where each
 * image token can attend to the question as it is read.
 */
export type ImagePlacement = "before_text" | "after_text";

export const IMAGE_PLACEMENTS: readonly ImagePlacement[] = ["before_text", "after_text"];

export interface RenderOptions {
  /**
   * Whether the conversation has an image. true: each user message holding `<image>` is rewritten to
   * "<image>\n" + the rest (trimmed), and if none holds it, "<image>\n" is put before the first user message
   * (with `imagePlacement: "after_text"`: the rest + "\n<image>", after the first user message's text).
   * false: the text is left as it is. Default: true when some user message holds `<image>`.
   */
  image?: boolean;
  /** Where the image goes in its message. Default "before_text", the official placement. */
  imagePlacement?: ImagePlacement;
  /** Append the assistant's role marker after a final user message, so the model writes the reply. Default true. */
  addGenerationPrompt?: boolean;
}

export interface RenderedConversation {
  /** The prompt text, ready for `tokenizeWithImage`. */
  text: string;
  /**
   * One span per assistant reply in the text: what the official training code leaves unmasked, i.e. the reply
   * and its end-of-turn marker (`</s>`, `<|im_end|>`, `<|end|>`); for the USER/ASSISTANT templates also the
   * space after "ASSISTANT:", which the tokenizer joins to the reply's first word.
   */
  replies: Span[];
}

/** The names of the templates (as `conv_templates` in Imp's conversation.py names them). */
export type TemplateName = "phi2" | "qwen2" | "phi3" | "vicuna_v1";

/** The strings one template is built from: see render.ts for how they are put together. */
export interface TemplateParts {
  /** System text used when the chat has no system message. */
  defaultSystem: string;
  systemPrefix: string;
  systemSuffix: string;
  userPrefix: string;
  userSuffix: string;
  /** The assistant's role marker; alone at the end it is the generation prompt. */
  assistantPrefix: string;
  /** Text between the marker and a reply that belongs to the reply (trained on). */
  replyPrefix: string;
  /** End of an assistant turn, part of the reply (the model learns to write it, then stops). */
  assistantSuffix: string;
}

export interface ConversationTemplate {
  readonly name: TemplateName;
  readonly parts: TemplateParts;
  /** Text that ends the reply when the model writes it (the official eval's stop keyword). */
  readonly stopStrings: readonly string[];
  /** Tokens that end generation (generation_config eos_token_id), by content: look the ids up in the tokenizer. */
  readonly stopTokens: readonly string[];
  render(messages: readonly ChatMessage[], opts?: RenderOptions): RenderedConversation;
}
