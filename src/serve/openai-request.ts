/**
 * Validates an OpenAI `POST /v1/chat/completions` body (https://platform.openai.com/docs/api-reference/chat)
 * into a ChatRequest. Every refusal is a 400 naming the field. Fields that do not change the answer (`user`,
 * `metadata`, `store`…) are ignored; parameters we cannot honour (`n > 1`, tools, logprobs, penalties) are
 * refused rather than silently dropped.
 */

import type { Turn } from "../runtime/engine/conversation.js";
import { checkText } from "../runtime/engine/conversation.js";
import type { ChatRequest, ImageRef } from "./chat-request.js";
import { invalid } from "./errors.js";
import {
  isObject,
  type JsonObject,
  optBoolean,
  optNumber,
  optString,
  stopList,
  typeName,
  unsupportedUnless,
} from "./fields.js";
import { imageUrlBytes } from "./image-source.js";
import { parseMessages } from "./messages.js";

const ROLES: Record<string, Turn["role"]> = {
  system: "system",
  developer: "system",
  user: "user",
  assistant: "assistant",
};

export function parseOpenAiChat(body: JsonObject, maxMessages: number): ChatRequest {
  const model = optString(body.model, "model");
  unsupportedUnless(body.n, "n", (v) => v === 1, "only n = 1 (one answer per request)");
  unsupportedUnless(body.logprobs, "logprobs", (v) => v === false, "logprobs are not returned");
  unsupportedUnless(body.top_logprobs, "top_logprobs", (v) => v === 0, "logprobs are not returned");
  unsupportedUnless(body.tools, "tools", (v) => Array.isArray(v) && v.length === 0, "tool calls");
  unsupportedUnless(body.functions, "functions", (v) => Array.isArray(v) && v.length === 0, "function calls");
  unsupportedUnless(body.tool_choice, "tool_choice", (v) => v === "none", "tool calls");
  unsupportedUnless(body.frequency_penalty, "frequency_penalty", (v) => v === 0, "use repetition_penalty");
  unsupportedUnless(body.presence_penalty, "presence_penalty", (v) => v === 0, "use repetition_penalty");
  unsupportedUnless(
    body.logit_bias,
    "logit_bias",
    (v) => isObject(v) && Object.keys(v).length === 0,
    "logit_bias",
  );
  unsupportedUnless(
    body.response_format,
    "response_format",
    (v) => isObject(v) && v.type === "text",
    'only {type: "text"}',
  );
  unsupportedUnless(
    body.modalities,
    "modalities",
    (v) => Array.isArray(v) && v.every((m) => m === "text"),
    "text only",
  );
  unsupportedUnless(body.audio, "audio", () => false, "audio output");

  const maxTokens =
    optNumber(body.max_completion_tokens, "max_completion_tokens", { min: 1, integer: true }) ??
    optNumber(body.max_tokens, "max_tokens", { min: 1, integer: true });
  const stream = optBoolean(body.stream, "stream") ?? false;
  // Not OpenAI's: Imp's fewer-visual-tokens lever per request.
  const imageTokens = optNumber(body.image_tokens, "image_tokens", { min: 1, integer: true });
  let includeUsage = false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (!isObject(body.stream_options))
      throw invalid("stream_options", `expected an object, got ${typeName(body.stream_options)}`);
    includeUsage = optBoolean(body.stream_options.include_usage, "stream_options.include_usage") ?? false;
  }
  const seed = optNumber(body.seed, "seed", { integer: true });
  const sampling = {
    temperature: optNumber(body.temperature, "temperature", { min: 0, max: 2 }) ?? 1,
    topP: optNumber(body.top_p, "top_p", { min: 0, exclusiveMin: true, max: 1 }),
    // Not OpenAI's, but common in local servers (llama.cpp, vLLM).
    topK: optNumber(body.top_k, "top_k", { min: 0, integer: true }),
    repetitionPenalty: optNumber(body.repetition_penalty, "repetition_penalty", {
      min: 0,
      exclusiveMin: true,
    }),
    seed,
  };
  const { turns, images } = parseMessages(body.messages, maxMessages, {
    roles: ROLES,
    nonEmpty: true,
    content: (m, f, role, images) => parseContent(m.content, `${f}.content`, role, images),
  });
  return {
    model,
    turns,
    images,
    maxTokens,
    imageTokens: imageTokens === undefined ? undefined : { value: imageTokens, field: "image_tokens" },
    sampling,
    stop: stopList(body.stop, "stop", 4),
    stream,
    includeUsage,
  };
}

/** A message's content: a string, or parts (`text`; `image_url` in user messages only). */
function parseContent(v: unknown, f: string, role: Turn["role"], images: ImageRef[]): string {
  if (typeof v === "string") return checkText(v, f);
  if (v === undefined || v === null) throw invalid(f, "required: a string or an array of content parts");
  if (!Array.isArray(v))
    throw invalid(f, `expected a string or an array of content parts, got ${typeName(v)}`);
  const texts: string[] = [];
  v.forEach((p, j) => {
    const pf = `${f}[${j}]`;
    if (!isObject(p)) throw invalid(pf, `expected a content part object, got ${typeName(p)}`);
    if (p.type === "text") {
      if (typeof p.text !== "string")
        throw invalid(`${pf}.text`, `expected a string, got ${typeName(p.text)}`);
      texts.push(checkText(p.text, `${pf}.text`));
    } else if (p.type === "image_url") {
      if (role !== "user") throw invalid(pf, `images go in user messages, not ${role} messages`);
      const iu = p.image_url;
      // The spec's shape is {url, detail}; a bare string is accepted too (some clients send it).
      const url = typeof iu === "string" ? iu : isObject(iu) ? iu.url : undefined;
      const uf = typeof iu === "string" ? `${pf}.image_url` : `${pf}.image_url.url`;
      if (!isObject(iu) && typeof iu !== "string")
        throw invalid(`${pf}.image_url`, `expected an object {url}, got ${typeName(iu)}`);
      if (typeof url !== "string") throw invalid(uf, `expected a string URL, got ${typeName(url)}`);
      images.push({ field: uf, bytes: (opts) => imageUrlBytes(url, uf, opts) });
    } else if (typeof p.type === "string") {
      throw invalid(
        `${pf}.type`,
        `content part type "${p.type}" is not supported; expected text or image_url`,
      );
    } else throw invalid(`${pf}.type`, `expected a string, got ${typeName(p.type)}`);
  });
  return texts.join("\n");
}
