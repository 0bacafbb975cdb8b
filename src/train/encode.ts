/**
 * A LLaVA-format record → what one forward pass needs: token ids with the image placeholder, labels masked
 * everywhere but the assistant's replies (and their end-of-turn marker) exactly as LLaVA's preprocess_* do for the
 * template, and the image as the tower's pixel input.
 *
 * Stage 1 uses LLaVA's `plain` template (preprocess_plain): the first human turn becomes just "<image>", the text is
 * "<image>" + caption + "\n", and only the caption and the "\n" are trained on. Stage 2 renders the whole chat with
 * the checkpoint's template (phi2, qwen2, phi3): system prompt, every turn, the reply spans unmasked.
 * Truncation happens after the image is spliced in, at max_length, as LLaVA's prepare_inputs_labels_for_multimodal.
 */
import { readFile } from "node:fs/promises";
import type { ImageProcessorSpec } from "../io/image/index.js";
import { decodeImage, preprocessForTower } from "../io/image/index.js";
import type {
  ChatMessage,
  ConversationTemplate,
  ImagePlacement,
  RenderedConversation,
} from "../io/template/index.js";
import { getTemplate, IGNORE_INDEX, tokenizeConversation } from "../io/template/index.js";
import type { Tokenizer } from "../io/tokenizer/index.js";
import { IMAGE_TOKEN as IMAGE, IMAGE_TOKEN_INDEX } from "../io/tokenizer/index.js";
import { PromptBuilder } from "../runtime/prompt.js";
import { FormatError, UsageError } from "../util/errors.js";
import { boxInTowerInput, labelsForBoxes } from "./image-token-labels.js";
import type { DataRecord } from "./records.js";

export interface PreparedExample {
  ids: number[];
  labels: number[];
  /** The tower's input [3, S, S], or null for a text-only record. */
  pixels: Float32Array | null;
  /**
   * Per image token, 1 where it shows what the first question names (the record's `named_boxes`), else 0; null
   * when the record does not say (image-token-labels.ts).
   */
  imageTokenLabels: Float32Array | null;
  /** Predicted tokens that carry loss, after splicing and truncation. */
  targets: number;
  /** Sequence length after splicing and truncation (what the model runs over). */
  positions: number;
  /** "file:line" of the record, for messages. */
  where: string;
}

export interface EncoderOptions {
  tokenizer: Tokenizer;
  /** "plain" or a conversation template. */
  template: "plain" | ConversationTemplate;
  imageSpec: ImageProcessorSpec | null;
  /** Image embeddings one image becomes (the tower's patch count). */
  imageTokens: number;
  /** Where the image goes in its message: the model's own (`ModelConfig.imagePlacement`), as it will be asked. */
  imagePlacement: ImagePlacement;
  maxLength: number;
}

/** The template a recipe names: "plain", "model" (the checkpoint's own), or a template name. */
export function chooseTemplate(
  name: string,
  modelTemplate: ConversationTemplate,
): "plain" | ConversationTemplate {
  if (name === "plain") return "plain";
  if (name === "model") return modelTemplate;
  return getTemplate(name);
}

/** LLaVA's preprocess_plain: "<image>" + caption + "\n", loss on the caption and the newline. */
export function renderPlain(rec: DataRecord): RenderedConversation {
  const turns = rec.conversations.filter((t) => t.from !== "system");
  if (rec.image === null) throw new FormatError(`${rec.where}: the plain (stage 1) template needs an image`);
  if (turns.length !== 2 || turns[0]!.from !== "human" || turns[1]!.from !== "gpt")
    throw new FormatError(
      `${rec.where}: the plain (stage 1) template needs exactly one human turn and one gpt caption, found ` +
        `${turns.map((t) => t.from).join(", ")}`,
    );
  const text = `${IMAGE}${turns[1]!.value}\n`;
  return { text, replies: [{ start: IMAGE.length, end: text.length }] };
}

/** A record's turns as chat messages (a leading gpt turn is dropped, as LLaVA's preprocess does). */
export function toMessages(rec: DataRecord): ChatMessage[] {
  const roles = { human: "user", gpt: "assistant", system: "system" } as const;
  let turns = rec.conversations;
  const system = turns[0]?.from === "system" ? turns[0] : null;
  if (system) turns = turns.slice(1);
  if (turns[0]?.from === "gpt") turns = turns.slice(1);
  const msgs: ChatMessage[] = turns.map((t) => ({ role: roles[t.from], content: t.value }));
  return system ? [{ role: "system", content: system.value }, ...msgs] : msgs;
}

export class Encoder {
  /** The chat template's prompt rule, the same as the model is asked with (null for the plain template). */
  private readonly prompt: PromptBuilder | null;

  constructor(readonly opts: EncoderOptions) {
    const { template, tokenizer, imageTokens, imagePlacement } = opts;
    this.prompt =
      template === "plain" ? null : new PromptBuilder({ tokenizer, template, imageTokens, imagePlacement });
  }

  /** Token ids and labels of a record (no image decoding). Throws a FormatError for a record it cannot render. */
  tokenize(rec: DataRecord): { ids: number[]; labels: number[] } {
    const { tokenizer } = this.opts;
    let rendered: RenderedConversation;
    if (!this.prompt) rendered = renderPlain(rec);
    else {
      try {
        rendered = this.prompt.render(toMessages(rec), {
          image: rec.image !== null,
          addGenerationPrompt: false,
        });
      } catch (e) {
        if (e instanceof UsageError) throw new FormatError(`${rec.where}: ${e.message}`, { cause: e });
        throw e;
      }
    }
    // A reply boundary inside a token masks the whole record, as the official code does.
    const { ids, labels } = tokenizeConversation(tokenizer, rendered, IMAGE_TOKEN_INDEX);
    return { ids, labels };
  }

  /** Tokenizes and loads the image; a missing or unreadable image is a FormatError naming the record. */
  async encode(rec: DataRecord): Promise<PreparedExample> {
    const { ids, labels } = this.tokenize(rec);
    let pixels: Float32Array | null = null;
    let imageTokenLabels: Float32Array | null = null;
    if (rec.image !== null) {
      if (!this.opts.imageSpec)
        throw new UsageError(`${rec.where}: the model has no vision tower for its image`);
      let bytes: Uint8Array;
      try {
        bytes = await readFile(rec.image);
      } catch (e) {
        throw new FormatError(`${rec.where}: cannot read image ${rec.image}: ${(e as Error).message}`);
      }
      const spec = this.opts.imageSpec;
      try {
        const img = await decodeImage(bytes, { source: rec.image });
        pixels = preprocessForTower(img, spec);
        if (rec.namedBoxes) {
          const boxes = rec.namedBoxes.map((b) => boxInTowerInput(b, img.width, img.height, spec));
          imageTokenLabels = labelsForBoxes(boxes, this.opts.imageTokens);
        }
      } catch (e) {
        if (e instanceof UsageError) throw new FormatError(`${rec.where}: ${e.message}`, { cause: e });
        throw new FormatError(`${rec.where}: unreadable image: ${(e as Error).message}`, { cause: e });
      }
    }
    const { targets, positions } = countTargets(ids, labels, this.opts.imageTokens, this.opts.maxLength);
    return { ids, labels, pixels, imageTokenLabels, targets, positions, where: rec.where };
  }
}

/**
 * Loss tokens and length of the sequence the model sees: each placeholder becomes `imageTokens` ignored positions,
 * the result is cut at maxLength, and position i predicts label i + 1 (MultimodalModel.sequenceLoss).
 */
export function countTargets(
  ids: readonly number[],
  labels: readonly number[],
  imageTokens: number,
  maxLength: number,
): { targets: number; positions: number } {
  const spliced: number[] = [];
  ids.forEach((id, i) => {
    if (id === IMAGE_TOKEN_INDEX) for (let j = 0; j < imageTokens; j++) spliced.push(IGNORE_INDEX);
    else spliced.push(labels[i]!);
  });
  const positions = Math.min(spliced.length, maxLength);
  let targets = 0;
  for (let i = 1; i < positions; i++) if (spliced[i] !== IGNORE_INDEX) targets++;
  return { targets, positions };
}
