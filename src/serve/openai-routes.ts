/**
 * OpenAI's chat API: `POST /v1/chat/completions` (a JSON answer, or with `stream: true` server-sent events
 * of `chat.completion.chunk`s ending in `data: [DONE]`) and `GET /v1/models`. The shapes follow
 * https://platform.openai.com/docs/api-reference/chat so the official clients work unchanged; `timings` is
 * an extra field (as llama.cpp's server adds) that clients ignore and the web page shows.
 */
import { randomUUID } from "node:crypto";
import type { Context, Hono } from "hono";
import type { ChatRequest, PreparedJob } from "./chat-request.js";
import { prepareJob } from "./chat-request.js";
import type { ServeContext, ServeEnv } from "./context.js";
import { parseJsonBody } from "./fields.js";
import { parseOpenAiChat } from "./openai-request.js";
import type { RunOutcome, ScheduledRun } from "./scheduler.js";
import { streamRun } from "./stream.js";

export function openAiRoutes(app: Hono<ServeEnv>, ctx: ServeContext): void {
  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: [{ id: ctx.engine.info.id, object: "model", created: 0, owned_by: "imp-ts" }],
    }),
  );

  app.get("/v1/models/:id", (c) => {
    if (c.req.param("id") !== ctx.engine.info.id) return c.json(notFound(c.req.param("id")), 404);
    return c.json({ id: ctx.engine.info.id, object: "model", created: 0, owned_by: "imp-ts" });
  });

  app.post("/v1/chat/completions", async (c) => {
    const req = parseOpenAiChat(parseJsonBody(await c.req.text()), ctx.limits.maxMessages);
    const prepared = await prepareJob(req, ctx.engine, ctx.scheduler, c.req.raw.signal, {
      ...ctx.images,
      maxImages: ctx.limits.maxImages,
      defaultMaxTokens: ctx.limits.defaultMaxTokens,
    });
    const run = ctx.scheduler.submit(prepared.job, c.req.raw.signal);
    const meta = {
      id: `chatcmpl-${randomUUID()}`,
      created: Math.floor(Date.now() / 1000),
      model: ctx.engine.info.id,
    };
    if (req.stream) return streamed(c, run, meta, req, prepared, ctx);
    let text = "";
    const out = await run.start((t) => {
      text += t;
    });
    return c.json({
      ...meta,
      object: "chat.completion",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: text, refusal: null },
          logprobs: null,
          finish_reason: out.finishReason,
        },
      ],
      usage: usage(prepared, out),
      timings: timings(out),
    });
  });
}

interface Meta {
  id: string;
  created: number;
  model: string;
}

function streamed(
  c: Context<ServeEnv>,
  run: ScheduledRun,
  meta: Meta,
  req: ChatRequest,
  prepared: PreparedJob,
  ctx: ServeContext,
): Response {
  const data = (obj: unknown) => `data: ${JSON.stringify(obj)}\n\n`;
  const chunk = (delta: Record<string, string>, finish: string | null) =>
    data({
      ...meta,
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(req.includeUsage ? { usage: null } : {}),
    });
  return streamRun(c, run, ctx, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    },
    opening: chunk({ role: "assistant", content: "" }, null),
    text: (text) => chunk({ content: text }, null),
    end: (out) =>
      chunk({}, out.finishReason) +
      (req.includeUsage
        ? data({
            ...meta,
            object: "chat.completion.chunk",
            choices: [],
            usage: usage(prepared, out),
            timings: timings(out),
          })
        : "") +
      "data: [DONE]\n\n",
    // After the 200 and the first chunks, an error can only travel in the stream: the openai client raises an
    // APIError for a data line holding `error`.
    error: (mapped) => data(mapped.body),
    // A comment line now and then keeps proxies from closing a stream that waits in the queue or a prefill.
    keepAlive: { frame: ": keep-alive\n\n", everyMs: 15_000 },
  });
}

function usage(prepared: PreparedJob, out: RunOutcome) {
  const prompt = out.stats.prefillPositions || prepared.promptPositions;
  return {
    prompt_tokens: prompt,
    completion_tokens: out.stats.generatedTokens,
    total_tokens: prompt + out.stats.generatedTokens,
  };
}

const ms = (x: number) => Math.round(x * 10) / 10;

function timings(out: RunOutcome) {
  const s = out.stats;
  return {
    queue_ms: ms(out.queueMs),
    first_token_ms: out.firstTextMs === null ? null : ms(out.firstTextMs),
    vision_ms: ms(s.visionMs),
    prefill_ms: ms(s.prefillMs),
    decode_ms: ms(s.decodeMs),
    image_tokens: s.imageTokens,
    // Where the image's embeddings came from: the image cache, the conversation cache (its positions kept with
    // the conversation's), or the tower (null: computed now, or no image).
    image_cache: s.imageCacheHits > 0 ? "image" : s.imagePrefixHits > 0 ? "conversation" : null,
    cached_prompt_positions: s.cachedPositions,
    total_ms: ms(out.totalMs),
    // The first token comes from the prefill; the decode time covers the ones after it.
    decode_tokens_per_second:
      s.generatedTokens > 1 && s.decodeMs > 0 ? ms(((s.generatedTokens - 1) / s.decodeMs) * 1000) : null,
  };
}

function notFound(id: string) {
  return {
    error: {
      message: `the model "${id}" does not exist; this server serves one model (GET /v1/models)`,
      type: "invalid_request_error",
      param: "model",
      code: "model_not_found",
    },
  };
}
