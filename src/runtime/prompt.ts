/**
 * The prompt, written once: a conversation → the template's text (the image placed where the model expects it)
 * → token ids with the image placeholder, and the positions those ids take once the image's embeddings replace
 * the placeholder. The pipeline, the server's early context check, the in-tab engine and training's encoder all
 * build their prompts here, so what is counted is what is run and what is trained.
 *
 * @example
 * const prompt = new PromptBuilder({ tokenizer, template, imageTokens: 729, imagePlacement: "before_text" });
 * const { ids } = prompt.ids([{ role: "user", content: "What is this?" }], { image: true });
 * prompt.positions(ids); // ids.length − 1 + 729
 */
import type {
  ChatMessage,
  ConversationTemplate,
  ImagePlacement,
  RenderedConversation,
} from "../io/template/index.js";
import type { Tokenizer } from "../io/tokenizer/index.js";
import { IMAGE_TOKEN_INDEX, tokenizeWithImage } from "../io/tokenizer/index.js";
import { UsageError } from "../util/errors.js";

export interface PromptSettings {
  tokenizer: Tokenizer;
  template: ConversationTemplate;
  /** Embeddings one image adds in place of its placeholder. */
  imageTokens: number;
  /** Where the image goes in its message (the model's `mm_image_placement`). */
  imagePlacement: ImagePlacement;
  /**
   * Ids that stand for the image besides LLaVA's −200: Imp's HF code uses a real token id (`image_token_index`),
   * which a caller's ready-made ids may hold.
   */
  imageTokenIndex?: number;
}

export interface PromptOptions {
  /** The conversation carries an image (placed in its first user message unless a message marks it). */
  image: boolean;
  /** End with the assistant's role marker, so the model writes the reply. Default true. */
  addGenerationPrompt?: boolean;
}

export class PromptBuilder {
  constructor(readonly settings: PromptSettings) {}

  /** The conversation as the template's text, the image placed; with the replies' spans (for training's labels). */
  render(messages: readonly ChatMessage[], opts: PromptOptions): RenderedConversation {
    if (messages.length === 0) throw new UsageError("nothing to answer: give a prompt or messages");
    return this.settings.template.render(messages, {
      image: opts.image,
      imagePlacement: this.settings.imagePlacement,
      addGenerationPrompt: opts.addGenerationPrompt ?? true,
    });
  }

  /** The conversation as prompt token ids (the image placeholder = −200), with the text they came from. */
  ids(messages: readonly ChatMessage[], opts: PromptOptions): { ids: number[]; text: string } {
    const { text } = this.render(messages, opts);
    return { ids: tokenizeWithImage(this.settings.tokenizer, text, IMAGE_TOKEN_INDEX), text };
  }

  /** Positions the ids take once each placeholder is replaced by the image's embeddings (`imageTokens` each). */
  positions(ids: readonly number[], imageTokens = this.settings.imageTokens): number {
    const index = this.settings.imageTokenIndex ?? IMAGE_TOKEN_INDEX;
    return splicedLength(ids, (id) => id === IMAGE_TOKEN_INDEX || id === index, imageTokens);
  }

  /** Positions of a conversation's prompt: `positions(ids(…))`. */
  promptPositions(messages: readonly ChatMessage[], hasImage: boolean, imageTokens?: number): number {
    return this.positions(this.ids(messages, { image: hasImage }).ids, imageTokens);
  }
}

/** Positions a prompt's ids take once each placeholder is replaced by `imageTokens` embeddings. */
export function splicedLength(
  ids: readonly number[],
  isPlaceholder: (id: number) => boolean,
  imageTokens: number,
): number {
  let placeholders = 0;
  for (const id of ids) if (isPlaceholder(id)) placeholders++;
  return ids.length - placeholders + placeholders * imageTokens;
}
