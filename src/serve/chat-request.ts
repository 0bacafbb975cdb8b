/**
 * A chat request as both APIs (OpenAI's and Ollama's) reduce to, and its preparation into an engine job:
 * the image loaded and decoded, the conversation rendered, its length checked against the context.
 * Everything here runs before the request is queued, so bad input never waits behind good input; the heavy
 * part (decoding, tokenizing) runs in the engine's threads within the server's capacity (Scheduler.prepare).
 */
import { randomInt } from "node:crypto";
import type { Turn } from "../runtime/engine/conversation.js";
import { toTemplateMessages } from "../runtime/engine/conversation.js";
import type { Engine, EngineJob } from "../runtime/engine/engine.js";
import { checkImageTokens } from "../runtime/engine/engine.js";
import type { SamplingOptions } from "../runtime/sampler.js";
import { invalid } from "./errors.js";
import type { ImageSourceOptions } from "./image-source.js";
import type { Scheduler } from "./scheduler.js";

export interface ImageRef {
  /** The request field that holds it, for errors. */
  field: string;
  bytes(opts: ImageSourceOptions): Promise<Uint8Array>;
}

export interface ChatRequest {
  model?: string;
  turns: Turn[];
  images: ImageRef[];
  maxTokens?: number;
  /** Visual tokens for the image (`image_tokens`), and the field that gave it; the server's default when absent. */
  imageTokens?: { value: number; field: string };
  sampling: SamplingOptions;
  stop: string[];
  stream: boolean;
  /** OpenAI `stream_options.include_usage`: a last chunk with the token counts. */
  includeUsage: boolean;
}

export interface PreparedJob {
  job: EngineJob;
  /** Prompt positions (text tokens + image embeddings), for `usage`. */
  promptPositions: number;
}

export async function prepareJob(
  req: ChatRequest,
  engine: Engine,
  scheduler: Scheduler,
  signal: AbortSignal,
  opts: ImageSourceOptions & { maxImages: number; defaultMaxTokens: number },
): Promise<PreparedJob> {
  if (req.images.length > opts.maxImages)
    throw invalid(
      req.images[opts.maxImages]!.field,
      `at most ${opts.maxImages} image${opts.maxImages === 1 ? "" : "s"} per conversation (the Imp models are trained on one)`,
      "too_many_images",
    );
  const ref = req.images[0];
  if (ref && engine.info.imageTokens === 0)
    throw invalid(ref.field, `the model ${engine.info.id} has no vision tower; it takes no images`);
  const imageTokens =
    ref && req.imageTokens
      ? checkImageTokens(engine.info, req.imageTokens.value, req.imageTokens.field)
      : undefined;
  const messages = toTemplateMessages(req.turns);
  const context = engine.info.contextLength;
  // A cheap bound first: text longer than any prompt that fits is refused before anything is tokenized.
  const maxChars = engine.info.maxPromptChars;
  const chars = messages.reduce((n, m) => n + m.content.length, 0);
  if (maxChars !== null && chars > maxChars)
    throw invalid(
      "messages",
      `too many tokens for the context: the messages hold ${chars} characters, more than the ${maxChars} ` +
        `that the model's context of ${context} tokens can hold with its tokenizer`,
      "context_length_exceeded",
    );
  // Decoding and tokenizing take the engine's threads and a place in the server's capacity (429 when full),
  // and stop when the client goes away.
  const { positions, image } = await scheduler.prepare(signal, async (s) => {
    const bytes = ref ? await ref.bytes(opts) : undefined;
    return engine.prepare(
      {
        messages,
        image: ref && bytes ? { bytes, field: ref.field, maxPixels: opts.limits.maxImagePixels } : undefined,
        imageTokens,
      },
      s,
    );
  });
  // generate.ts needs one free position for the first new token.
  if (positions >= context)
    throw invalid(
      "messages",
      `too many tokens for the context: the prompt takes ${positions} positions ` +
        `(text tokens + ${image ? (imageTokens ?? engine.info.imageTokens) : 0} image tokens) and the model's context is ${context}`,
      "context_length_exceeded",
    );
  const maxNewTokens = Math.min(req.maxTokens ?? opts.defaultMaxTokens, context - positions);
  return {
    job: {
      messages,
      image,
      imageTokens,
      maxNewTokens,
      // Without a seed each request samples differently (the sampler's own default would repeat one draw).
      sampling: { ...req.sampling, seed: req.sampling.seed ?? randomInt(2 ** 31) },
      stop: req.stop,
    },
    promptPositions: positions,
  };
}
