/**
 * The server on a real port, driven by the official `openai` client. With a fixture model in the worker
 * engine (a test tokenizer makes its answers text: meaningless but deterministic): greedy answers equal
 * what ImpPipeline.generate gives for the same conversation, streamed or not, multi-turn, and over Ollama's
 * endpoint. With the scripted engine: a disconnect stops the generation and the next request starts, a full
 * queue is a 429, a wrong key a 401, a slow request a 504.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { InProcessEngine } from "../runtime/engine/in-process-engine.js";
import { WorkerEngine } from "../runtime/engine/worker-engine.js";
import { ImpPipeline } from "../runtime/pipeline.js";
import { FakeEngine } from "../testing/fake-engine.js";
import { fixture } from "../testing/fixtures.js";
import { writeTinyModel } from "../testing/tiny-model.js";
import type { AppOptions } from "./app.js";
import { createApp } from "./app.js";
import { mapError } from "./errors.js";
import { type Listening, listen } from "./server.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-serve-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const imageBytes = new Uint8Array(readFileSync(fixture("preprocess", "landscape_rgb.png")));
const imageUrl = `data:image/png;base64,${Buffer.from(imageBytes).toString("base64")}`;
const QUESTION = "What is the shape?";

function clientFor(server: Listening, apiKey = "none"): OpenAI {
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, timeout: 20_000 });
}

describe("with a fixture model in the worker engine", () => {
  let dir: string;
  let engine: WorkerEngine;
  let server: Listening;
  let reference: ImpPipeline;
  let client: OpenAI;

  before(async () => {
    dir = writeTinyModel(join(tmp, "tiny-imp-qwen2"));
    // The worker loads its copy while this thread loads the reference.
    const started = WorkerEngine.start({ folder: dir, backend: "js", id: "tiny", log: () => {} });
    reference = await ImpPipeline.load(dir, { backend: "js" });
    engine = await started;
    server = await listen(createApp({ engine, processMetrics: false, log: () => {} }).app, {
      host: "127.0.0.1",
      port: 0,
    });
    client = clientFor(server);
  });
  after(async () => {
    await server?.close();
    await engine?.close();
    reference?.dispose();
  });

  const withImage = (text: string) =>
    [
      { type: "image_url", image_url: { url: imageUrl } },
      { type: "text", text },
    ] as const;

  test("a non-streamed answer about an image equals the library's greedy generate", async () => {
    const want = await reference.generate({ image: imageBytes, prompt: QUESTION, maxNewTokens: 12 });
    const res = await client.chat.completions.create({
      model: "tiny",
      temperature: 0,
      max_tokens: 12,
      messages: [{ role: "user", content: [...withImage(QUESTION)] }],
    });
    assert.ok(want.text.length > 0);
    assert.equal(res.choices[0]!.message.content, want.text);
    assert.equal(res.choices[0]!.finish_reason, want.stats.finishReason === "stop" ? "stop" : "length");
    assert.equal(res.usage?.completion_tokens, want.tokens.length);
    assert.equal(res.usage?.prompt_tokens, want.stats.prefillPositions);
    assert.equal(res.model, "tiny");
  });

  test("a streamed answer equals it too, and ends with the usage chunk", async () => {
    const want = await reference.generate({ image: imageBytes, prompt: QUESTION, maxNewTokens: 20 });
    const stream = await client.chat.completions.create({
      model: "tiny",
      temperature: 0,
      max_tokens: 20,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: [...withImage(QUESTION)] }],
    });
    let text = "";
    let pieces = 0;
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    let finish: string | null = null;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.content;
      if (delta) {
        text += delta;
        pieces++;
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, want.text);
    assert.ok(pieces > 1, "the answer came in several chunks");
    assert.equal(finish, "length");
    assert.equal(usage?.completion_tokens, want.tokens.length);
    assert.equal(usage?.total_tokens, want.tokens.length + want.stats.prefillPositions);
  });

  test("a multi-turn conversation maps onto the template as the library renders it", async () => {
    const want = await reference.generate({
      image: imageBytes,
      messages: [
        { role: "system", content: "You look at pictures." },
        { role: "user", content: `<image>\n${QUESTION}` },
        { role: "assistant", content: "A circle." },
        { role: "user", content: "What colour is it?" },
      ],
      maxNewTokens: 10,
    });
    const res = await client.chat.completions.create({
      model: "tiny",
      temperature: 0,
      max_tokens: 10,
      messages: [
        { role: "system", content: "You look at pictures." },
        { role: "user", content: [...withImage(QUESTION)] },
        { role: "assistant", content: "A circle." },
        { role: "user", content: "What colour is it?" },
      ],
    });
    assert.equal(res.choices[0]!.message.content, want.text);
    assert.equal(res.usage?.prompt_tokens, want.stats.prefillPositions);
  });

  test("Ollama's /api/chat gives the same answer, streamed as NDJSON or not", async () => {
    const want = await reference.generate({ image: imageBytes, prompt: QUESTION, maxNewTokens: 12 });
    const body = {
      model: "tiny",
      messages: [{ role: "user", content: QUESTION, images: [Buffer.from(imageBytes).toString("base64")] }],
      options: { temperature: 0, num_predict: 12 },
    };
    const streamed = await fetch(`${server.url}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const lines = (await streamed.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { message: { content: string }; done: boolean; eval_count?: number });
    assert.equal(lines.map((l) => l.message.content).join(""), want.text);
    assert.equal(lines.at(-1)!.done, true);
    assert.equal(lines.at(-1)!.eval_count, want.tokens.length);
    const whole = await fetch(`${server.url}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...body, stream: false }),
    });
    assert.equal(((await whole.json()) as { message: { content: string } }).message.content, want.text);
  });

  test("a bad request beside a good one: the good answer is untouched", async () => {
    const want = await reference.generate({ image: imageBytes, prompt: QUESTION, maxNewTokens: 12 });
    const corrupt = `data:image/png;base64,${Buffer.from(imageBytes.slice(0, 200)).toString("base64")}`;
    const [good, bad, tooLong] = await Promise.allSettled([
      client.chat.completions.create({
        model: "tiny",
        temperature: 0,
        max_tokens: 12,
        messages: [{ role: "user", content: [...withImage(QUESTION)] }],
      }),
      client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: corrupt } }] }],
      }),
      client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: "word ".repeat(400) }],
      }),
    ]);
    assert.equal(good.status, "fulfilled");
    assert.equal(
      (good as PromiseFulfilledResult<OpenAI.ChatCompletion>).value.choices[0]!.message.content,
      want.text,
    );
    for (const [r, param] of [
      [bad, "messages[0].content[0].image_url.url"],
      [tooLong, "messages"],
    ] as const) {
      assert.equal(r.status, "rejected");
      const err = (r as PromiseRejectedResult).reason as InstanceType<typeof OpenAI.APIError>;
      assert.ok(err instanceof OpenAI.BadRequestError, String(err));
      assert.equal(err.param, param);
    }
    assert.match(
      ((tooLong as PromiseRejectedResult).reason as Error).message,
      /too many tokens for the context/,
    );
  });

  test("the in-process engine, through app.fetch with no port, gives the same answer", async () => {
    const want = await reference.generate({ image: imageBytes, prompt: QUESTION, maxNewTokens: 8 });
    const { app } = createApp({
      engine: new InProcessEngine(reference),
      processMetrics: false,
      log: () => {},
    });
    const res = await app.fetch(
      new Request("http://localhost/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "tiny",
          temperature: 0,
          max_tokens: 8,
          messages: [{ role: "user", content: [...withImage(QUESTION)] }],
        }),
      }),
    );
    const body = (await res.json()) as OpenAI.ChatCompletion;
    assert.equal(body.choices[0]!.message.content, want.text);
    assert.equal(body.model, basename(dir));
  });

  test("the worker stops a generation between tokens when aborted, then takes the next job", async () => {
    // Aborted as soon as it is sent: the worker sees the abort at the first token boundary (mid-stream
    // aborts over HTTP are timed with the scripted engine below; a fixture answers too fast to catch).
    const controller = new AbortController();
    controller.abort();
    let pieces = 0;
    const job = {
      messages: [{ role: "user" as const, content: "Tell me a long story." }],
      maxNewTokens: 80,
      sampling: { temperature: 0 },
      stop: [],
    };
    const result = await engine.run(job, {
      signal: controller.signal,
      onText: () => {
        pieces++;
      },
    });
    assert.equal(result.finishReason, "abort");
    assert.ok(pieces <= 2, `stopped after ${pieces} pieces`);
    const next = await engine.run(
      { ...job, maxNewTokens: 4 },
      { signal: new AbortController().signal, onText: () => {} },
    );
    assert.equal(next.stats.generatedTokens, 4);
  });

  test("a worker that dies fails its job with a 500, is started again, and the server answers on", async () => {
    const job = {
      messages: [{ role: "user" as const, content: "Hello" }],
      maxNewTokens: 40,
      sampling: { temperature: 0 },
      stop: [],
    };
    const running = engine.run(job, { signal: new AbortController().signal, onText: () => {} });
    // Kill the thread under the job, as a crash in the model code would.
    const pool = (engine as unknown as { pool: Array<{ worker: { terminate(): Promise<number> } }> }).pool;
    await pool[0]!.worker.terminate();
    await assert.rejects(
      running,
      // The engine raises the library's error; the server's one handler answers it with a 500.
      (e: Error) => mapError(e).status === 500 && /engine stopped/.test(e.message),
    );
    // Greedy: a random draw from the random-weight fixture sometimes picks its stop token first.
    const res = await client.chat.completions.create({
      model: "tiny",
      max_tokens: 3,
      temperature: 0,
      messages: [{ role: "user", content: "Are you back?" }],
    });
    assert.equal(res.usage?.completion_tokens, 3);
    assert.equal(engine.ready, true);
  });
});

describe("with a fixture model, fewer visual tokens and the caches", () => {
  let engine: WorkerEngine;
  let server: Listening;
  let reference: ImpPipeline;

  before(async () => {
    const dir = writeTinyModel(join(tmp, "tiny-caches"));
    const started = WorkerEngine.start({
      folder: dir,
      backend: "js",
      id: "tiny",
      log: () => {},
      imageCacheBytes: 1 << 20,
      conversationCacheBytes: 64 << 20,
    });
    reference = await ImpPipeline.load(dir, { backend: "js" });
    engine = await started;
    server = await listen(createApp({ engine, processMetrics: false, log: () => {} }).app, {
      host: "127.0.0.1",
      port: 0,
    });
  });
  after(async () => {
    await server?.close();
    await engine?.close();
    reference?.dispose();
  });

  const ask = (text: string, extra: Record<string, unknown> = {}) =>
    fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        temperature: 0,
        max_tokens: 6,
        messages: [
          {
            role: "user",
            content: [
              { type: "image_url", image_url: { url: imageUrl } },
              { type: "text", text },
            ],
          },
        ],
        ...extra,
      }),
    });
  type Answer = {
    choices: { message: { content: string } }[];
    usage: { prompt_tokens: number };
    timings: { image_tokens: number; image_cache: string | null; cached_prompt_positions: number };
  };

  test("image_tokens per request: fewer positions, the library's answer; a count the tower cannot take is a 400", async () => {
    const own = (await (await ask(QUESTION)).json()) as Answer;
    const nine = (await (await ask(QUESTION, { image_tokens: 9 })).json()) as Answer;
    assert.equal(own.timings.image_tokens, 16);
    assert.equal(nine.timings.image_tokens, 9);
    assert.equal(own.usage.prompt_tokens - nine.usage.prompt_tokens, 16 - 9);
    const want = await reference.generate({
      image: imageBytes,
      prompt: QUESTION,
      maxNewTokens: 6,
      imageTokens: 9,
    });
    assert.equal(nine.choices[0]!.message.content, want.text);
    const bad = await ask(QUESTION, { image_tokens: 10 });
    assert.equal(bad.status, 400);
    const err = ((await bad.json()) as { error: { param: string; message: string } }).error;
    assert.equal(err.param, "image_tokens");
    assert.match(err.message, /10 is not a square number of patches/);
    const ollama = await fetch(`${server.url}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        stream: false,
        options: { temperature: 0, num_predict: 6, image_tokens: 9 },
        messages: [{ role: "user", content: QUESTION, images: [Buffer.from(imageBytes).toString("base64")] }],
      }),
    });
    const o = (await ollama.json()) as { message: { content: string }; prompt_eval_count: number };
    assert.equal(o.message.content, want.text);
    assert.equal(o.prompt_eval_count, nine.usage.prompt_tokens);
  });

  test("a second question about the image comes from the caches, with the cold answer; /metrics counts it", async () => {
    await ask("First question?");
    const follow = (await (await ask("Second question?")).json()) as Answer;
    assert.notEqual(follow.timings.image_cache, null);
    assert.ok(follow.timings.cached_prompt_positions >= 16);
    const want = await reference.generate({ image: imageBytes, prompt: "Second question?", maxNewTokens: 6 });
    assert.equal(follow.choices[0]!.message.content, want.text);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /imp_image_cache_total\{result="hit"\} [1-9]/);
    assert.match(metrics, /imp_image_cache_total\{result="miss"\} [1-9]/);
    assert.match(metrics, /imp_conversation_cache_positions_total [1-9]/);
  });
});

describe("with the scripted engine", () => {
  async function start(engine: FakeEngine, opts: Partial<AppOptions> = {}) {
    const { app } = createApp({ engine, processMetrics: false, log: () => {}, ...opts });
    return listen(app, { host: "127.0.0.1", port: 0 });
  }

  test("a client that disconnects stops its generation at once; the queued request starts", async () => {
    const engine = new FakeEngine({ tokenDelayMs: 20, words: 10_000 });
    const server = await start(engine);
    try {
      const client = clientFor(server);
      const controller = new AbortController();
      const first = await client.chat.completions.create(
        { model: "m", stream: true, messages: [{ role: "user", content: "go on forever" }] },
        { signal: controller.signal },
      );
      const second = client.chat.completions.create({
        model: "m",
        max_tokens: 3,
        messages: [{ role: "user", content: "short" }],
      });
      let chunks = 0;
      const t0 = performance.now();
      // Aborting ends the client's iteration (the openai client swallows its own abort) and closes the socket.
      for await (const _ of first) if (++chunks === 4) controller.abort();
      assert.equal(chunks, 4);
      const answer = await second;
      assert.equal(answer.choices[0]!.message.content, "w0 w1 w2");
      // The second waited only for the first to stop: a few token delays, not 10 000.
      assert.ok(performance.now() - t0 < 2000);
      assert.equal(engine.runs[0]!.aborted, true);
      assert.ok(engine.runs[0]!.words < 50, `the first went on for ${engine.runs[0]!.words} words`);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /imp_generations_total\{outcome="abort"\} 1/);
    } finally {
      await server.close();
    }
  });

  test("a full queue answers 429 with Retry-After at once; health stays up", async () => {
    const engine = new FakeEngine({ tokenDelayMs: 20, words: 10_000 });
    const server = await start(engine, { maxQueue: 1 });
    try {
      const client = clientFor(server);
      const controller = new AbortController();
      const running = client.chat.completions
        .create({ model: "m", messages: [{ role: "user", content: "a" }] }, { signal: controller.signal })
        .catch((e: Error) => e);
      await engine.started(1);
      const waiting = client.chat.completions
        .create({ model: "m", messages: [{ role: "user", content: "b" }] }, { signal: controller.signal })
        .catch((e: Error) => e);
      // Let the second one reach the queue.
      for (let i = 0; i < 50; i++) {
        const h = (await (await fetch(`${server.url}/health`)).json()) as { queue: { waiting: number } };
        if (h.queue.waiting === 1) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const err = await client.chat.completions
        .create({ model: "m", messages: [{ role: "user", content: "c" }] })
        .then(
          () => null,
          (e: unknown) => e,
        );
      assert.ok(err instanceof OpenAI.RateLimitError, String(err));
      assert.ok(Number(err.headers?.get("retry-after")) >= 1);
      assert.equal(err.code, "queue_full");
      const streamed = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "d" }] }),
      });
      assert.equal(streamed.status, 429, "a stream is refused before it starts");
      await streamed.text();
      controller.abort();
      await Promise.all([running, waiting]);
      assert.equal(engine.runs.length, 1, "the waiting request never ran");
    } finally {
      await server.close();
    }
  });

  test("preparations count in the capacity (429 when full) and stop when their client goes away", async () => {
    const engine = new FakeEngine({ prepareDelayMs: 60_000 });
    const server = await start(engine, { maxQueue: 1 });
    const health = async () =>
      ((await (await fetch(`${server.url}/health`)).json()) as { queue: { preparing: number } }).queue;
    try {
      const client = clientFor(server);
      const controller = new AbortController();
      const slow = [1, 2].map(() =>
        client.chat.completions
          .create({ model: "m", messages: [{ role: "user", content: "a" }] }, { signal: controller.signal })
          .catch((e: Error) => e),
      );
      for (let i = 0; i < 100 && (await health()).preparing < 2; i++)
        await new Promise((r) => setTimeout(r, 10));
      assert.equal((await health()).preparing, 2);
      // One slot + one place in the queue, both taken by preparations: the third is refused at once.
      const err = await client.chat.completions
        .create({ model: "m", messages: [{ role: "user", content: "c" }] })
        .then(
          () => null,
          (e: unknown) => e,
        );
      assert.ok(err instanceof OpenAI.RateLimitError, String(err));
      assert.equal(err.code, "queue_full");
      // The clients give up: their preparations stop now (within the poll's 2 s), not after their minute.
      controller.abort();
      await Promise.all(slow);
      for (let i = 0; i < 200 && engine.prepareAborted < 2; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(engine.prepareAborted, 2);
      assert.equal((await health()).preparing, 0);
      engine.prepareDelayMs = 0;
      const res = await client.chat.completions.create({
        model: "m",
        messages: [{ role: "user", content: "d" }],
      });
      assert.equal(res.choices[0]!.message.content, "w0 w1 w2 w3 w4 w5 w6 w7");
      assert.equal(engine.runs.length, 1, "the cancelled requests never ran");
    } finally {
      await server.close();
    }
  });

  test("a wrong API key is a 401 for the openai client; the right one works", async () => {
    const server = await start(new FakeEngine(), { apiKey: "let-me-in" });
    try {
      const err = await clientFor(server, "wrong")
        .chat.completions.create({ model: "m", messages: [{ role: "user", content: "a" }] })
        .then(
          () => null,
          (e: unknown) => e,
        );
      assert.ok(err instanceof OpenAI.AuthenticationError, String(err));
      const ok = await clientFor(server, "let-me-in").chat.completions.create({
        model: "m",
        max_tokens: 2,
        messages: [{ role: "user", content: "a" }],
      });
      assert.equal(ok.choices[0]!.message.content, "w0 w1");
      assert.equal((await clientFor(server, "let-me-in").models.list()).data[0]!.id, "fake-model");
    } finally {
      await server.close();
    }
  });

  test("a request over the time limit is a 504, or an error event once streaming", async () => {
    const engine = new FakeEngine({ tokenDelayMs: 30, words: 10_000 });
    const server = await start(engine, { limits: { timeoutMs: 150 } });
    try {
      const client = clientFor(server);
      const err = await client.chat.completions
        .create({ model: "m", messages: [{ role: "user", content: "a" }] })
        .then(
          () => null,
          (e: unknown) => e,
        );
      assert.ok(err instanceof OpenAI.APIError && err.status === 504, String(err));
      const stream = await client.chat.completions.create({
        model: "m",
        stream: true,
        messages: [{ role: "user", content: "a" }],
      });
      await assert.rejects(
        (async () => {
          for await (const _ of stream);
        })(),
        /longer than the server's limit/,
      );
      assert.ok(engine.runs.every((r) => r.aborted));
    } finally {
      await server.close();
    }
  });
});
