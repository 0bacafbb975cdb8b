/**
 * Renders a chat with a template's parts, the way Imp's `Conversation.get_prompt` (imp_llava/conversation.py,
 * separator styles TWO, QWEN2 and PHI3) concatenates them:
 *
 *   systemPrefix + system + systemSuffix
 *   + for each user turn:      userPrefix + content + userSuffix
 *   + for each assistant turn: assistantPrefix + replyPrefix + content + assistantSuffix
 *   + assistantPrefix          (generation prompt, after a final user turn)
 *
 * The image placeholder goes where Imp's data preprocessing (`preprocess_multimodal` in train.py) and
 * `get_prompt` put it: "<image>\n" at the start of the user message, the rest of that message trimmed; or, for a
 * model trained with the question first (`imagePlacement: "after_text"`), the mirror image: the message's text,
 * then "\n<image>".
 */
import { UsageError } from "../../util/errors.js";
import { IMAGE_TOKEN as IMAGE } from "../tokenizer/image-tokens.js";
import type {
  ChatMessage,
  ConversationTemplate,
  ImagePlacement,
  RenderedConversation,
  RenderOptions,
  Span,
  TemplateName,
  TemplateParts,
} from "./types.js";

/** The user messages' text after image placement (see RenderOptions.image and imagePlacement). */
function placeImage(
  messages: readonly ChatMessage[],
  image: boolean | undefined,
  placement: ImagePlacement,
): string[] {
  const hasToken = messages.some((m) => m.role === "user" && m.content.includes(IMAGE));
  const withImage = image ?? hasToken;
  let needsImage = withImage && !hasToken;
  const place = (text: string) => (placement === "after_text" ? `${text}\n${IMAGE}` : `${IMAGE}\n${text}`);
  return messages.map((m) => {
    if (m.role !== "user" || !withImage) return m.content;
    if (m.content.includes(IMAGE)) return place(m.content.replaceAll(IMAGE, "").trim());
    if (needsImage) {
      // The official eval scripts prepend without trimming the question: `DEFAULT_IMAGE_TOKEN + '\n' + qs`.
      needsImage = false;
      return place(m.content);
    }
    return m.content;
  });
}

export function renderConversation(
  parts: TemplateParts,
  messages: readonly ChatMessage[],
  opts: RenderOptions = {},
): RenderedConversation {
  let turns = messages;
  let system = parts.defaultSystem;
  if (turns[0]?.role === "system") {
    system = turns[0].content;
    turns = turns.slice(1);
  }
  if (turns.length === 0) throw new UsageError("conversation: no user message to render");
  turns.forEach((m, i) => {
    const expected = i % 2 === 0 ? "user" : "assistant";
    if (m.role !== expected) {
      throw new UsageError(
        `conversation: message ${i + (turns === messages ? 0 : 1)} is from "${m.role}", expected "${expected}" ` +
          `(an optional system message first, then user and assistant in turn, starting with the user)`,
      );
    }
  });

  const contents = placeImage(turns, opts.image, opts.imagePlacement ?? "before_text");
  let text = parts.systemPrefix + system + parts.systemSuffix;
  const replies: Span[] = [];
  turns.forEach((m, i) => {
    const content = contents[i]!;
    if (m.role === "user") {
      text += parts.userPrefix + content + parts.userSuffix;
      return;
    }
    text += parts.assistantPrefix;
    const start = text.length;
    text += parts.replyPrefix + content + parts.assistantSuffix;
    replies.push({ start, end: text.length });
  });
  if (turns[turns.length - 1]!.role === "user" && (opts.addGenerationPrompt ?? true))
    text += parts.assistantPrefix;
  return { text, replies };
}

/** A template from its parts and stop markers. */
export function defineTemplate(
  name: TemplateName,
  parts: TemplateParts,
  stops: { strings: string[]; tokens: string[] },
): ConversationTemplate {
  const frozen = Object.freeze({ ...parts });
  return Object.freeze({
    name,
    parts: frozen,
    stopStrings: Object.freeze([...stops.strings]),
    stopTokens: Object.freeze([...stops.tokens]),
    render: (messages: readonly ChatMessage[], opts?: RenderOptions) =>
      renderConversation(frozen, messages, opts),
  });
}
