/**
 * Ollama's chat API, which many local tools speak: `POST /api/chat` (messages with `images: [base64]`,
 * NDJSON streaming by default, one JSON object with `stream: false`), plus `GET /api/tags` and
 * `GET /api/version` that clients call to discover the model. Shapes follow Ollama's docs/api.md; durations
 * are in nanoseconds; errors are `{error: "message"}`.
 */
import type { Hono } from "hono";
import type { Turn } from "../runtime/engine/conversation.js";
import { checkText } from "../runtime/engine/conversation.js";
import { packageVersion } from "../util/package-version.js";
import type { ChatRequest, PreparedJob } from "./chat-request.js";
import { prepareJob } from "./chat-request.js";
import type { ServeContext, ServeEnv } from "./context.js";
import { invalid, toOllamaBody } from "./errors.js";
import type { JsonObject } from "./fields.js";
import {
  isObject,
  optBoolean,
  optNumber,
  optString,
  parseJsonBody,
  stopList,
  typeName,
  unsupportedUnless,
} from "./fields.js";
import { decodeBase64 } from "./image-source.js";
import { parseMessages } from "./messages.js";
import type { RunOutcome } from "./scheduler.js";
import { streamRun } from "./stream.js";

export function ollamaRoutes(app: Hono<ServeEnv>, ctx: ServeContext): void {
  app.get("/api/version", (c) => c.json({ version: packageVersion() }));

  app.get("/api/tags", (c) =>
    c.json({
      models: [
        {
          name: ctx.engine.info.id,
          model: ctx.engine.info.id,
          modified_at: new Date(0).toISOString(),
          size: 0,
          digest: "",
          details: {
            format: "safetensors",
            family: ctx.engine.info.modelType,
            families: [ctx.engine.info.modelType],
          },
        },
      ],
    }),
  );

  app.post("/api/chat", async (c) => {
    const body = parseJsonBody(await c.req.text());
    const model = ctx.engine.info.id;
    const createdAt = () => new Date().toISOString();
    // Ollama: an empty `messages` loads the model and answers at once.
    if (Array.isArray(body.messages) && body.messages.length === 0)
      return c.json({
        model,
        created_at: createdAt(),
        message: { role: "assistant", content: "" },
        done_reason: "load",
        done: true,
      });
    const req = parseOllamaChat(body, ctx.limits.maxMessages);
    const prepared = await prepareJob(req, ctx.engine, ctx.scheduler, c.req.raw.signal, {
      ...ctx.images,
      maxImages: ctx.limits.maxImages,
      defaultMaxTokens: ctx.limits.defaultMaxTokens,
    });
    const run = ctx.scheduler.submit(prepared.job, c.req.raw.signal);
    const final = (out: RunOutcome, content: string) => ({
      model,
      created_at: createdAt(),
      message: { role: "assistant", content },
      done_reason: out.finishReason,
      done: true,
      ...durations(out, prepared),
    });

    if (!req.stream) {
      let text = "";
      const out = await run.start((t) => {
        text += t;
      });
      return c.json(final(out, text));
    }

    const line = (obj: unknown) => `${JSON.stringify(obj)}\n`;
    return streamRun(c, run, ctx, {
      headers: { "content-type": "application/x-ndjson" },
      text: (text) =>
        line({ model, created_at: createdAt(), message: { role: "assistant", content: text }, done: false }),
      end: (out) => line(final(out, "")),
      error: (mapped) => line(toOllamaBody(mapped)),
    });
  });
}

const ns = (ms: number) => Math.round(ms * 1e6);

function durations(out: RunOutcome, prepared: PreparedJob) {
  const s = out.stats;
  return {
    total_duration: ns(out.totalMs),
    load_duration: 0,
    prompt_eval_count: s.prefillPositions || prepared.promptPositions,
    prompt_eval_duration: ns(s.visionMs + s.prefillMs),
    eval_count: s.generatedTokens,
    eval_duration: ns(s.decodeMs),
  };
}

const ROLES: Record<string, Turn["role"]> = { system: "system", user: "user", assistant: "assistant" };

/** Validates an Ollama /api/chat body into a ChatRequest. */
export function parseOllamaChat(body: JsonObject, maxMessages: number): ChatRequest {
  const model = optString(body.model, "model");
  unsupportedUnless(body.tools, "tools", (v) => Array.isArray(v) && v.length === 0, "tool calls");
  unsupportedUnless(body.format, "format", (v) => v === "", "structured output");
  const stream = optBoolean(body.stream, "stream") ?? true;
  let o: JsonObject = {};
  if (body.options !== undefined && body.options !== null) {
    if (!isObject(body.options))
      throw invalid("options", `expected an object, got ${typeName(body.options)}`);
    o = body.options;
  }
  const numPredict = optNumber(o.num_predict, "options.num_predict", { integer: true, min: -2 });
  // Not Ollama's: Imp's fewer-visual-tokens lever per request, beside the other model options.
  const imageTokens = optNumber(o.image_tokens, "options.image_tokens", { integer: true, min: 1 });
  const sampling = {
    temperature: optNumber(o.temperature, "options.temperature", { min: 0 }) ?? 0.8,
    topP: optNumber(o.top_p, "options.top_p", { min: 0, exclusiveMin: true, max: 1 }),
    topK: optNumber(o.top_k, "options.top_k", { min: 0, integer: true }),
    repetitionPenalty: optNumber(o.repeat_penalty, "options.repeat_penalty", { min: 0, exclusiveMin: true }),
    seed: optNumber(o.seed, "options.seed", { integer: true }),
  };

  const { turns, images } = parseMessages(body.messages, maxMessages, {
    roles: ROLES,
    nonEmpty: false,
    content: (m, f, role, images) => {
      const text = checkText(optString(m.content, `${f}.content`) ?? "", `${f}.content`);
      if (m.images === undefined || m.images === null) return text;
      if (!Array.isArray(m.images))
        throw invalid(`${f}.images`, `expected an array of base64 strings, got ${typeName(m.images)}`);
      if (m.images.length > 0 && role !== "user")
        throw invalid(`${f}.images`, `images go in user messages, not ${role} messages`);
      m.images.forEach((img, j) => {
        const field = `${f}.images[${j}]`;
        if (typeof img !== "string") throw invalid(field, `expected a base64 string, got ${typeName(img)}`);
        // Ollama takes raw base64; a data: URL prefix is tolerated.
        const data = img.startsWith("data:") ? img.slice(img.indexOf(",") + 1) : img;
        images.push({ field, bytes: async (opts) => decodeBase64(data, field, opts.limits.maxImageBytes) });
      });
      return text;
    },
  });
  return {
    model,
    turns,
    images,
    // -1 (no limit) and -2 (fill the context) both run to the context's end.
    maxTokens:
      numPredict === undefined
        ? undefined
        : numPredict < 0
          ? Number.MAX_SAFE_INTEGER
          : numPredict === 0
            ? 1
            : numPredict,
    imageTokens:
      imageTokens === undefined ? undefined : { value: imageTokens, field: "options.image_tokens" },
    sampling,
    stop: stopList(o.stop, "options.stop", 16),
    stream,
    includeUsage: false,
  };
}
