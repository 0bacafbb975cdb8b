/**
 * An Answerer that asks any OpenAI-compatible server (`imp serve`, vLLM, llama.cpp's server, OpenAI itself):
 * `POST {endpoint}/v1/chat/completions` with the image as a `data:` URL, temperature 0, non-streaming.
 * Rate limits, server errors and network failures are retried a few times with back-off.
 */
import { readFile } from "node:fs/promises";
import { ImpError } from "../util/errors.js";
import { type Answerer, type AnswerRequest, imageMime } from "./answerer.js";

export interface OpenAiAnswererOptions {
  /** Server base URL ("http://host:8080"), its /v1, or the full /v1/chat/completions URL. */
  endpoint: string;
  /** The `model` field; by default the first id of GET /v1/models, else "imp". */
  model?: string;
  apiKey?: string;
  /** Per-request timeout in seconds (default 300). */
  timeoutS?: number;
  /** Attempts per question (default 4). */
  attempts?: number;
  fetch?: typeof fetch;
}

/** The chat-completions URL and the models URL for an endpoint given in any of the usual forms. */
export function endpointUrls(endpoint: string): { chat: string; models: string } {
  let base = endpoint.trim().replace(/\/+$/, "");
  if (base.endsWith("/chat/completions")) base = base.slice(0, -"/chat/completions".length);
  if (!base.endsWith("/v1")) base = `${base}/v1`;
  return { chat: `${base}/chat/completions`, models: `${base}/models` };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ChatResponse {
  choices?: { message?: { content?: unknown } }[];
}

/** Text of a chat-completions message content: a string, or text parts. */
function contentText(content: unknown): string | null {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p) =>
        p && typeof p === "object" && typeof (p as { text?: unknown }).text === "string"
          ? (p as { text: string }).text
          : "",
      )
      .join("");
  }
  return null;
}

export class OpenAiAnswerer implements Answerer {
  readonly modelId: string;
  private readonly urls: { chat: string; models: string };
  private readonly fetchFn: typeof fetch;

  private constructor(
    private readonly opts: OpenAiAnswererOptions,
    model: string,
  ) {
    this.urls = endpointUrls(opts.endpoint);
    this.fetchFn = opts.fetch ?? fetch;
    this.modelId = model;
  }

  /** Connects: resolves the model name (asking /v1/models when none is given). */
  static async create(opts: OpenAiAnswererOptions): Promise<OpenAiAnswerer> {
    if (opts.model) return new OpenAiAnswerer(opts, opts.model);
    const urls = endpointUrls(opts.endpoint);
    let model = "imp";
    try {
      const res = await (opts.fetch ?? fetch)(urls.models, { headers: OpenAiAnswerer.headers(opts.apiKey) });
      if (res.ok) {
        const body = (await res.json()) as { data?: { id?: unknown }[] };
        const id = body.data?.[0]?.id;
        if (typeof id === "string" && id) model = id;
      }
    } catch {
      // Many servers do not list models; the chat request will say whether the endpoint works.
    }
    return new OpenAiAnswerer(opts, model);
  }

  private static headers(apiKey?: string): Record<string, string> {
    const h: Record<string, string> = { "content-type": "application/json" };
    if (apiKey) h.authorization = `Bearer ${apiKey}`;
    return h;
  }

  async answer(req: AnswerRequest): Promise<string> {
    let bytes = req.imageBytes;
    if (!bytes && req.imagePath) {
      try {
        bytes = await readFile(req.imagePath);
      } catch (err) {
        throw new ImpError(`${req.imagePath}: cannot read the question's image (${(err as Error).message})`, {
          cause: err,
        });
      }
    }
    const content = bytes
      ? [
          {
            type: "image_url",
            image_url: { url: `data:${imageMime(bytes)};base64,${Buffer.from(bytes).toString("base64")}` },
          },
          { type: "text", text: req.prompt },
        ]
      : req.prompt;
    const body = JSON.stringify({
      model: this.modelId,
      messages: [{ role: "user", content }],
      temperature: 0,
      max_tokens: req.maxTokens,
      stream: false,
    });
    const attempts = this.opts.attempts ?? 4;
    let lastError = "";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (req.signal?.aborted) throw req.signal.reason ?? new ImpError("aborted");
      const timeout = AbortSignal.timeout((this.opts.timeoutS ?? 300) * 1000);
      const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
      try {
        const res = await this.fetchFn(this.urls.chat, {
          method: "POST",
          headers: OpenAiAnswerer.headers(this.opts.apiKey),
          body,
          signal,
        });
        const raw = await res.text();
        if (res.ok) {
          const parsed = JSON.parse(raw) as ChatResponse;
          const text = contentText(parsed.choices?.[0]?.message?.content);
          if (text === null)
            throw new ImpError(
              `${this.urls.chat}: response has no choices[0].message.content: ${raw.slice(0, 200)}`,
            );
          return text;
        }
        lastError = `HTTP ${res.status}: ${raw.slice(0, 300)}`;
        if (res.status !== 429 && res.status < 500) break; // a request the server rejects will not improve
      } catch (err) {
        if (req.signal?.aborted) throw err;
        if (err instanceof ImpError) throw err;
        lastError = err instanceof Error ? err.message : String(err);
      }
      if (attempt < attempts) await sleep(250 * 2 ** (attempt - 1));
    }
    throw new ImpError(`${this.urls.chat}: no answer after ${attempts} attempt(s): ${lastError}`);
  }
}
