/**
 * Counts a conversation's prompt positions on the HTTP thread, with the model folder's own tokenizer and
 * template, exactly as the pipeline will build the prompt (template → text → ids with the image placeholder),
 * so an over-long prompt is refused with a 400 before it waits in the queue.
 */
import type { ChatMessage, ConversationTemplate } from "../../io/template/index.js";
import { templateForModelType } from "../../io/template/index.js";
import { Tokenizer, tokenizeWithImage } from "../../io/tokenizer/index.js";
import { IMAGE_PLACEHOLDER } from "../../models/config.js";
import { positionsOf } from "./engine.js";

export class PromptCounter {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly template: ConversationTemplate,
    private readonly imageTokens: number,
    private readonly imageTokenIndex: number,
  ) {}

  static async load(folder: string, modelType: string, imageTokens: number, imageTokenIndex: number) {
    return new PromptCounter(
      await Tokenizer.fromFolder(folder),
      templateForModelType(modelType),
      imageTokens,
      imageTokenIndex,
    );
  }

  positions(messages: readonly ChatMessage[], hasImage: boolean): number {
    const text = this.template.render(messages, { image: hasImage, addGenerationPrompt: true }).text;
    const ids = tokenizeWithImage(this.tokenizer, text, IMAGE_PLACEHOLDER);
    return positionsOf(
      ids,
      (id) => id === IMAGE_PLACEHOLDER || id === this.imageTokenIndex,
      this.imageTokens,
    );
  }
}
