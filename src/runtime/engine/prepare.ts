/**
 * A request's heavy preparation, before it is queued: its image decoded (bounded by the pixel limit and by what
 * the file's header promised) and its prompt's positions counted with the model's tokenizer. Both can take
 * seconds on hostile input, so an engine with threads runs this off the caller's thread (prepare-pool.ts); the
 * rule itself is here once, for every engine.
 */
import type { RgbImage } from "../../io/image/index.js";
import { decodeImage } from "../../io/image/index.js";
import type { ChatMessage } from "../../io/template/index.js";
import { FormatError, RequestError, UsageError } from "../../util/errors.js";

export interface PrepareInput {
  messages: ChatMessage[];
  /** The image's encoded file, the request field it came from (for errors) and the pixel limit. */
  image?: { bytes: Uint8Array; field: string; maxPixels: number };
  /** Visual tokens the image will take (the engine's default when absent). */
  imageTokens?: number;
}

export interface PreparedInput {
  /** Prompt positions: text tokens + the image's embeddings. */
  positions: number;
  image?: RgbImage;
}

/** Counts a conversation's prompt positions (PromptBuilder.promptPositions, or a test's rule). */
export type PositionCounter = (
  messages: readonly ChatMessage[],
  hasImage: boolean,
  imageTokens?: number,
) => number;

/** Prepares on this thread. A bad image is a RequestError naming its field. */
export async function prepareHere(count: PositionCounter, input: PrepareInput): Promise<PreparedInput> {
  let image: RgbImage | undefined;
  if (input.image) {
    const { bytes, field, maxPixels } = input.image;
    try {
      // No bytes quoted: they may be a local file the client named but should not read.
      image = await decodeImage(bytes, { maxPixels, source: "image", quoteBytes: false });
    } catch (err) {
      if (err instanceof FormatError || err instanceof UsageError)
        throw new RequestError(field, err.message, "invalid_image");
      throw err;
    }
  }
  return { positions: count(input.messages, image !== undefined, input.imageTokens), image };
}

/**
 * The longest text (in characters) any prompt that fits `contextLength` positions can have, or null when the
 * tokenizer gives no such bound: a cheap check before tokenizing. `maxTokenChars` is the tokenizer's longest
 * token; the factor 2 leaves room for normalisation (NFC joins a letter and its marks into one character).
 */
export function maxPromptChars(contextLength: number, maxTokenChars: number | null): number | null {
  return maxTokenChars === null ? null : contextLength * maxTokenChars * 2;
}
