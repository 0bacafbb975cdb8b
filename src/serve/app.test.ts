/**
 * The HTTP app without a socket (`app.fetch(new Request(...))`) over the scripted engine: the shapes of
 * answers and errors, every kind of bad input (a 4xx in OpenAI's shape naming the field), the API key,
 * /health, /metrics, the page and the model's files for the in-tab engine.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { FakeEngine } from "../testing/fake-engine.js";
import { encodeTestPng } from "../testing/image-encoders.js";
import { type AppOptions, createApp } from "./app.js";

const png = encodeTestPng({ width: 8, height: 6, depth: 8, colorType: 2, samples: new Array(144).fill(200) });
const dataUrl = `data:image/png;base64,${Buffer.from(png).toString("base64")}`;

function setup(opts: Partial<AppOptions> = {}, engine = new FakeEngine()) {
  const { app, ctx } = createApp({ engine, processMetrics: false, log: () => {}, ...opts });
  return { app, ctx, engine };
}

type App = ReturnType<typeof setup>["app"];

function post(
  app: App,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    app.fetch(
      new Request(`http://localhost${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    ),
  );
}

function chat(app: App, body: Record<string, unknown>, headers?: Record<string, string>) {
  return post(app, "/v1/chat/completions", { model: "m", ...body }, headers);
}

const user = (content: unknown) => ({ messages: [{ role: "user", content }] });

interface ErrorShape {
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function expectError(res: Response, status: number, param: string | null, message?: RegExp) {
  const body = (await res.json()) as ErrorShape;
  assert.equal(res.status, status, JSON.stringify(body));
  assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
  assert.equal(body.error.param, param, body.error.message);
  if (message) assert.match(body.error.message, message);
  return body.error;
}

describe("answers", () => {
  test("a non-streamed completion in OpenAI's shape, with usage and timings", async () => {
    const { app, engine } = setup();
    const res = await chat(app, { ...user("hello there"), max_tokens: 3, temperature: 0 });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown> & {
      choices: Array<{ message: { content: string }; finish_reason: string }>;
      usage: Record<string, number>;
    };
    assert.equal(body.object, "chat.completion");
    assert.equal(body.model, "fake-model");
    assert.match(String(body.id), /^chatcmpl-/);
    assert.equal(body.choices[0]!.message.content, "w0 w1 w2");
    assert.equal(body.choices[0]!.finish_reason, "length");
    assert.deepEqual(body.usage, { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    assert.equal(engine.runs[0]!.job.maxNewTokens, 3);
    assert.equal(engine.runs[0]!.job.sampling.temperature, 0);
  });

  test("a stream: role chunk, content chunks, finish chunk, usage chunk, [DONE]", async () => {
    const { app } = setup();
    const res = await chat(app, {
      ...user("hi"),
      max_tokens: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const events = (await res.text()).split("\n\n").filter(Boolean);
    assert.equal(events.at(-1), "data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, "")));
    assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant", content: "" });
    assert.deepEqual(
      chunks.slice(1, 3).map((c) => c.choices[0].delta.content),
      ["w0", " w1"],
    );
    assert.equal(chunks[3].choices[0].finish_reason, "length");
    assert.deepEqual(chunks[4].choices, []);
    assert.equal(chunks[4].usage.completion_tokens, 2);
    assert.ok(chunks.slice(0, 4).every((c) => c.usage === null));
  });

  test("conversations map onto the template: systems joined, runs of one role joined, the image marked", async () => {
    const { app, engine } = setup();
    const res = await chat(app, {
      messages: [
        { role: "system", content: "Be brief." },
        { role: "developer", content: "Use English." },
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: dataUrl } },
            { type: "text", text: "What?" },
          ],
        },
        { role: "assistant", content: [{ type: "text", text: "A square." }] },
        { role: "user", content: "Colour?" },
        { role: "user", content: "And size?" },
      ],
    });
    assert.equal(res.status, 200);
    const job = engine.runs[0]!.job;
    assert.deepEqual(job.messages, [
      { role: "system", content: "Be brief.\n\nUse English." },
      { role: "user", content: "<image>\nWhat?" },
      { role: "assistant", content: "A square." },
      { role: "user", content: "Colour?\nAnd size?" },
    ]);
    assert.equal(job.image?.width, 8);
    assert.equal(job.image?.height, 6);
  });

  test("max_tokens defaults, and is capped by what the context leaves", async () => {
    const { app, engine } = setup({ limits: { defaultMaxTokens: 7 } }, new FakeEngine({ contextLength: 10 }));
    await (await chat(app, user("one two three"))).json();
    assert.equal(engine.runs[0]!.job.maxNewTokens, 7);
    await (await chat(app, { ...user("one two three"), max_completion_tokens: 100 })).json();
    assert.equal(engine.runs[1]!.job.maxNewTokens, 7);
  });

  test("Ollama /api/chat: NDJSON stream, stream: false, images as base64, options", async () => {
    const { app, engine } = setup();
    const b64 = Buffer.from(png).toString("base64");
    const req = {
      model: "imp",
      messages: [{ role: "user", content: "look", images: [b64] }],
      options: { num_predict: 2, temperature: 0, seed: 3, stop: ["\n"] },
    };
    const res = await post(app, "/api/chat", req);
    assert.match(res.headers.get("content-type") ?? "", /application\/x-ndjson/);
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.message.content, l.done]),
      [
        ["w0", false],
        [" w1", false],
        ["", true],
      ],
    );
    assert.equal(lines[2].done_reason, "length");
    assert.equal(lines[2].eval_count, 2);
    assert.equal(lines[2].prompt_eval_count, 18); // "<image>", "look" + 16 image tokens
    assert.deepEqual(engine.runs[0]!.job.sampling, {
      temperature: 0,
      seed: 3,
      topP: undefined,
      topK: undefined,
      repetitionPenalty: undefined,
    });
    assert.deepEqual(engine.runs[0]!.job.stop, ["\n"]);
    assert.equal(engine.runs[0]!.job.image?.width, 8);

    const one = (await (await post(app, "/api/chat", { ...req, stream: false })).json()) as Record<
      string,
      unknown
    >;
    assert.deepEqual(one.message, { role: "assistant", content: "w0 w1" });
    assert.equal(one.done, true);
    const load = (await (await post(app, "/api/chat", { model: "imp", messages: [] })).json()) as Record<
      string,
      unknown
    >;
    assert.equal(load.done_reason, "load");
    const tags = (await (await app.fetch(new Request("http://localhost/api/tags"))).json()) as {
      models: Array<{ name: string }>;
    };
    assert.equal(tags.models[0]!.name, "fake-model");
  });
});

describe("bad input: a 4xx in OpenAI's shape naming the field", () => {
  const { app } = setup({ limits: { maxMessages: 4 } });
  const img = (url: unknown) =>
    user([
      { type: "text", text: "x" },
      { type: "image_url", image_url: { url } },
    ]);
  const cases: Array<[string, unknown, number, string | null, RegExp]> = [
    ["invalid JSON", "{not json", 400, null, /not valid JSON/],
    ["a body that is not an object", "[1,2]", 400, null, /must be a JSON object/],
    ["missing messages", { model: "m" }, 400, "messages", /required/],
    ["messages not an array", { messages: "hi" }, 400, "messages", /expected an array/],
    ["empty messages", { messages: [] }, 400, "messages", /empty/],
    [
      "too many messages",
      { messages: new Array(5).fill({ role: "user", content: "a" }) },
      400,
      "messages",
      /at most 4/,
    ],
    ["a message that is not an object", { messages: [3] }, 400, "messages[0]", /message object/],
    [
      "an unknown role",
      { messages: [{ role: "wizard", content: "a" }] },
      400,
      "messages[0].role",
      /unknown role "wizard"/,
    ],
    [
      "the tool role",
      { messages: [{ role: "tool", content: "a" }] },
      400,
      "messages[0].role",
      /not supported/,
    ],
    [
      "a role of the wrong type",
      { messages: [{ role: 1, content: "a" }] },
      400,
      "messages[0].role",
      /expected a string/,
    ],
    ["content of the wrong type", user(42), 400, "messages[0].content", /string or an array/],
    ["missing content", { messages: [{ role: "user" }] }, 400, "messages[0].content", /required/],
    [
      "a part of an unknown type",
      user([{ type: "audio" }]),
      400,
      "messages[0].content[0].type",
      /not supported/,
    ],
    [
      "a text part without text",
      user([{ type: "text", text: 1 }]),
      400,
      "messages[0].content[0].text",
      /string/,
    ],
    [
      "an image_url that is not an object",
      user([{ type: "image_url", image_url: 5 }]),
      400,
      "messages[0].content[0].image_url",
      /expected an object/,
    ],
    ["an image url that is not a string", img(7), 400, "messages[0].content[1].image_url.url", /string URL/],
    ["bad base64", img("data:image/png;base64,@@@@"), 400, "messages[0].content[1].image_url.url", /base64/],
    [
      "a corrupt image",
      img(`data:image/png;base64,${Buffer.from(png.slice(0, 30)).toString("base64")}`),
      400,
      "messages[0].content[1].image_url.url",
      /.+/,
    ],
    [
      "not an image at all",
      img(`data:image/png;base64,${Buffer.from("hello world!").toString("base64")}`),
      400,
      "messages[0].content[1].image_url.url",
      /.+/,
    ],
    [
      "an http URL",
      img("https://example.com/a.png"),
      400,
      "messages[0].content[1].image_url.url",
      /not fetched/,
    ],
    [
      "a file URL without the allow-list",
      img("file:///etc/passwd"),
      400,
      "messages[0].content[1].image_url.url",
      /--allow-local-images/,
    ],
    [
      "two images",
      user([
        { type: "image_url", image_url: { url: dataUrl } },
        { type: "image_url", image_url: { url: dataUrl } },
      ]),
      400,
      "messages[0].content[1].image_url.url",
      /at most 1 image/,
    ],
    [
      "an image in an assistant message",
      {
        messages: [
          { role: "user", content: "a" },
          { role: "assistant", content: [{ type: "image_url", image_url: { url: dataUrl } }] },
          { role: "user", content: "b" },
        ],
      },
      400,
      "messages[1].content[0]",
      /user messages/,
    ],
    ["the reserved <image> text", user("what is <image>?"), 400, "messages[0].content", /reserved/],
    [
      "a conversation ending with the assistant",
      {
        messages: [
          { role: "user", content: "a" },
          { role: "assistant", content: "b" },
        ],
      },
      400,
      "messages[1].role",
      /last message/,
    ],
    [
      "a conversation starting with the assistant",
      {
        messages: [
          { role: "assistant", content: "b" },
          { role: "user", content: "a" },
        ],
      },
      400,
      "messages[0].role",
      /start with a user/,
    ],
    [
      "only a system message",
      { messages: [{ role: "system", content: "b" }] },
      400,
      "messages",
      /no user message/,
    ],
    ["n > 1", { ...user("a"), n: 2 }, 400, "n", /unsupported/],
    ["tools", { ...user("a"), tools: [{ type: "function" }] }, 400, "tools", /unsupported/],
    ["logprobs", { ...user("a"), logprobs: true }, 400, "logprobs", /unsupported/],
    [
      "a json response_format",
      { ...user("a"), response_format: { type: "json_object" } },
      400,
      "response_format",
      /unsupported/,
    ],
    ["a penalty", { ...user("a"), presence_penalty: 0.5 }, 400, "presence_penalty", /unsupported/],
    [
      "temperature of the wrong type",
      { ...user("a"), temperature: "hot" },
      400,
      "temperature",
      /expected a number/,
    ],
    ["temperature out of range", { ...user("a"), temperature: 3 }, 400, "temperature", /≤ 2/],
    ["top_p of 0", { ...user("a"), top_p: 0 }, 400, "top_p", /> 0/],
    ["a fractional seed", { ...user("a"), seed: 1.5 }, 400, "seed", /integer/],
    ["max_tokens of 0", { ...user("a"), max_tokens: 0 }, 400, "max_tokens", /≥ 1/],
    ["stream of the wrong type", { ...user("a"), stream: "yes" }, 400, "stream", /boolean/],
    [
      "stream_options of the wrong type",
      { ...user("a"), stream_options: 1 },
      400,
      "stream_options",
      /object/,
    ],
    ["too many stop strings", { ...user("a"), stop: ["a", "b", "c", "d", "e"] }, 400, "stop", /at most 4/],
    ["an empty stop string", { ...user("a"), stop: ["a", ""] }, 400, "stop[1]", /non-empty/],
    ["a model of the wrong type", { ...user("a"), model: 3 }, 400, "model", /string/],
  ];
  for (const [name, body, status, param, message] of cases)
    test(name, async () => {
      const res =
        typeof body === "string"
          ? await post(app, "/v1/chat/completions", body)
          : await post(app, "/v1/chat/completions", body);
      await expectError(res, status, param, message);
    });

  test("too many tokens for the context (counted before queueing)", async () => {
    const { app: small, engine } = setup({}, new FakeEngine({ contextLength: 18, imageTokens: 16 }));
    const e = await expectError(
      await chat(small, img(dataUrl)),
      400,
      "messages",
      /too many tokens for the context.*context is 18/,
    );
    assert.equal(e.code, "context_length_exceeded");
    assert.equal(engine.runs.length, 0);
  });

  test("an image over the pixel or byte limit", async () => {
    const { app: strict } = setup({ limits: { maxImagePixels: 47 } });
    await expectError(
      await chat(strict, img(dataUrl)),
      400,
      "messages[0].content[1].image_url.url",
      /over the limit/,
    );
    const { app: tiny } = setup({ limits: { maxImageBytes: 50 } });
    await expectError(
      await chat(tiny, img(dataUrl)),
      400,
      "messages[0].content[1].image_url.url",
      /bytes, over the limit/,
    );
  });

  test("a body over the limit is a 413, with or without Content-Length", async () => {
    const { app: limited } = setup({ limits: { maxBodyBytes: 1000 } });
    await expectError(await chat(limited, user("x".repeat(2000))), 413, null, /over the limit of 1000 bytes/);
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new TextEncoder().encode(" ".repeat(400)));
        c.close();
      },
    });
    const res = await limited.fetch(
      new Request("http://localhost/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: chunked,
        duplex: "half",
      } as RequestInit),
    );
    await expectError(res, 413, null);
  });

  test("Ollama errors are {error: message}, naming the field", async () => {
    const bad = async (body: unknown, pattern: RegExp) => {
      const res = await post(app, "/api/chat", body);
      assert.equal(res.status, 400);
      const b = (await res.json()) as { error: string };
      assert.match(b.error, pattern);
    };
    await bad(
      { model: "m", messages: [{ role: "user", content: "a", images: ["@@"] }] },
      /messages\[0\]\.images\[0\]: .*base64/,
    );
    await bad(
      { model: "m", messages: [{ role: "user", content: "a", images: "x" }] },
      /messages\[0\]\.images: expected an array/,
    );
    await bad({ model: "m", messages: [{ role: "bot", content: "a" }] }, /messages\[0\]\.role: unknown role/);
    await bad(
      { model: "m", messages: [{ role: "user", content: "a" }], options: { temperature: "x" } },
      /options\.temperature/,
    );
    await bad({ model: "m" }, /messages: required/);
    await bad("nope", /not valid JSON/);
  });

  test("unknown routes are 404s in the same shape", async () => {
    await expectError(await app.fetch(new Request("http://localhost/v2/nothing")), 404, null, /no route/);
    await expectError(await app.fetch(new Request("http://localhost/../../etc/passwd")), 404, null);
  });
});

describe("API key", () => {
  test("the APIs and /metrics need the key; /health and the page do not", async () => {
    const { app } = setup({ apiKey: "s3cret" });
    const e = await expectError(await chat(app, user("a")), 401, null, /API key/);
    assert.equal(e.code, "invalid_api_key");
    await expectError(await chat(app, user("a"), { authorization: "Bearer wrong" }), 401, null);
    await expectError(await chat(app, user("a"), { authorization: "s3cret" }), 401, null);
    assert.equal((await chat(app, user("a"), { authorization: "Bearer s3cret" })).status, 200);
    assert.equal((await app.fetch(new Request("http://localhost/v1/models"))).status, 401);
    assert.equal((await app.fetch(new Request("http://localhost/metrics"))).status, 401);
    const ollama = await post(app, "/api/chat", { messages: [] });
    assert.equal(ollama.status, 401);
    assert.match(((await ollama.json()) as { error: string }).error, /API key/);
    assert.equal((await app.fetch(new Request("http://localhost/health"))).status, 200);
    assert.equal((await app.fetch(new Request("http://localhost/"))).status, 200);
  });
});

describe("health, models, metrics, page", () => {
  test("/health and /v1/models", async () => {
    const { app } = setup();
    const health = (await (await app.fetch(new Request("http://localhost/health"))).json()) as Record<
      string,
      unknown
    >;
    assert.equal(health.status, "ok");
    assert.deepEqual(health.queue, { active: 0, waiting: 0, preparing: 0, maxWaiting: 16, slots: 1 });
    const models = (await (await app.fetch(new Request("http://localhost/v1/models"))).json()) as {
      data: Array<{ id: string; object: string }>;
    };
    assert.deepEqual(
      models.data.map((m) => [m.id, m.object]),
      [["fake-model", "model"]],
    );
    assert.equal((await app.fetch(new Request("http://localhost/v1/models/fake-model"))).status, 200);
    assert.equal((await app.fetch(new Request("http://localhost/v1/models/gpt-4"))).status, 404);
  });

  test("/metrics counts requests by route and status, tokens, and the queue", async () => {
    const { app } = setup();
    await (await chat(app, { ...user("a b c"), max_tokens: 4 })).json();
    await (await chat(app, { messages: 1 })).json();
    await (await app.fetch(new Request("http://localhost/no/such/path/123"))).text();
    const text = await (await app.fetch(new Request("http://localhost/metrics"))).text();
    assert.match(
      text,
      /imp_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="200"\} 1/,
    );
    assert.match(
      text,
      /imp_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="400"\} 1/,
    );
    assert.match(text, /imp_http_requests_total\{route="unmatched",method="GET",status="404"\} 1/);
    assert.match(text, /imp_completion_tokens_total 4/);
    assert.match(text, /imp_queue_depth 0/);
    assert.match(text, /imp_time_to_first_token_seconds_count 1/);
    assert.match(text, /imp_generations_total\{outcome="length"\} 1/);
  });

  test("the page and its assets, with a same-origin-only CSP", async () => {
    const { app } = setup();
    const page = await app.fetch(new Request("http://localhost/"));
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    const html = await page.text();
    assert.match(html, /<script type="module" src="\/app.js">/);
    // No external resources: every src/href is a local path.
    for (const [, url] of html.matchAll(/(?:src|href)="([^"]+)"/g)) assert.ok(url!.startsWith("/"), url);
    for (const f of ["/app.js", "/sse.js", "/style.css"])
      assert.equal((await app.fetch(new Request(`http://localhost${f}`))).status, 200, f);
    const { app: noWeb } = setup({ web: false });
    assert.equal((await noWeb.fetch(new Request("http://localhost/"))).status, 404);
  });
});

describe("the model's files for the in-tab engine", () => {
  test("GET /model/files lists only the loader's files; each is served whole, anything else is a 404", async () => {
    const folder = mkdtempSync(join(tmpdir(), "imp-model-files-"));
    try {
      writeFileSync(join(folder, "config.json"), '{"model_type":"imp_qwen2"}');
      writeFileSync(join(folder, "blob"), new Uint8Array([1, 2, 3, 4, 5]));
      // Hugging Face cache snapshots link their files: a link is served as its target.
      symlinkSync(join(folder, "blob"), join(folder, "model.safetensors"));
      writeFileSync(join(folder, "notes.txt"), "private");
      // A dangling link with a loader's name is left out of the list, not a 500.
      symlinkSync(join(folder, "gone"), join(folder, "tokenizer.json"));
      const { app } = setup({ inTab: { folder, dtype: "q4" } });
      const get = (path: string, headers: Record<string, string> = {}) =>
        Promise.resolve(app.fetch(new Request(`http://localhost${path}`, { headers })));
      const list = await get("/model/files");
      assert.equal(list.status, 200);
      assert.deepEqual(await list.json(), {
        files: [
          { name: "config.json", bytes: 26 },
          { name: "model.safetensors", bytes: 5 },
        ],
        dtype: "q4",
      });
      const weights = await get("/model/model.safetensors");
      assert.equal(weights.status, 200);
      assert.equal(weights.headers.get("content-length"), "5");
      assert.equal(weights.headers.get("cross-origin-resource-policy"), "same-origin");
      assert.deepEqual([...new Uint8Array(await weights.arrayBuffer())], [1, 2, 3, 4, 5]);
      for (const name of ["notes.txt", "blob", "missing.safetensors", "tokenizer.json", "..%2Fconfig.json"])
        assert.equal((await get(`/model/${name}`)).status, 404, name);

      const { app: keyed } = setup({ inTab: { folder }, apiKey: "k" });
      const getKeyed = (headers: Record<string, string>) =>
        Promise.resolve(keyed.fetch(new Request("http://localhost/model/config.json", { headers })));
      assert.equal((await getKeyed({})).status, 401);
      assert.equal((await getKeyed({ authorization: "Bearer k" })).status, 200);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe("same origin only", () => {
  const send = (
    app: App,
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
    base = "http://localhost",
  ) => Promise.resolve(app.fetch(new Request(`${base}${path}`, { method, headers, body })));
  const answer = JSON.stringify({ model: "m", ...user("hi") });

  test("POST bodies must be application/json: text/plain and forms are a 415 (on both APIs)", async () => {
    const { app, engine } = setup();
    for (const type of [
      "text/plain;charset=UTF-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data",
    ]) {
      const res = await send(app, "POST", "/v1/chat/completions", { "content-type": type }, answer);
      const err = await expectError(res, 415, null, /Content-Type: application\/json/);
      assert.equal(err.code, "unsupported_media_type");
      const ollama = await send(app, "POST", "/api/chat", { "content-type": type }, answer);
      assert.equal(ollama.status, 415);
      assert.match(((await ollama.json()) as { error: string }).error, /application\/json/);
    }
    // A byte body carries no type at all.
    const untyped = await app.fetch(
      new Request("http://localhost/v1/chat/completions", {
        method: "POST",
        body: new TextEncoder().encode(answer),
      }),
    );
    await expectError(untyped, 415, null, /got none/);
    assert.equal(engine.runs.length, 0);
    const ok = await send(
      app,
      "POST",
      "/v1/chat/completions",
      { "content-type": "application/json; charset=utf-8" },
      answer,
    );
    assert.equal(ok.status, 200);
  });

  test("another site's Origin is refused, even with a body a browser sends without asking", async () => {
    const { app, engine } = setup();
    for (const [method, path, type] of [
      ["POST", "/v1/chat/completions", "text/plain"],
      ["POST", "/v1/chat/completions", "application/json"],
      ["GET", "/v1/models", ""],
      ["GET", "/health", ""],
    ] as const) {
      const headers: Record<string, string> = { origin: "http://evil.example" };
      if (type) headers["content-type"] = type;
      const res = await send(app, method, path, headers, method === "POST" ? answer : undefined);
      const err = await expectError(res, 403, null, /http:\/\/evil\.example .*--cors/);
      assert.equal(err.code, "cross_origin_refused");
      assert.equal(res.headers.get("access-control-allow-origin"), null);
    }
    for (const origin of ["null", "http://localhost.evil.example", "https://localhost:8443"])
      assert.equal((await send(app, "GET", "/v1/models", { origin })).status, 403, origin);
    assert.equal(engine.runs.length, 0);
    // The server's own page sends its own origin.
    const own = await send(
      app,
      "POST",
      "/v1/chat/completions",
      { origin: "http://localhost", "content-type": "application/json" },
      answer,
    );
    assert.equal(own.status, 200);
  });

  test("--cors ORIGIN: that site gets CORS headers and its preflight; others are still refused", async () => {
    const { app } = setup({ corsOrigins: ["https://app.example"] });
    const pre = await send(app, "OPTIONS", "/v1/chat/completions", {
      origin: "https://app.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "https://app.example");
    assert.match(pre.headers.get("access-control-allow-headers") ?? "", /authorization.*content-type/);
    assert.match(pre.headers.get("access-control-allow-methods") ?? "", /POST/);
    const res = await send(
      app,
      "POST",
      "/v1/chat/completions",
      { origin: "https://app.example", "content-type": "application/json" },
      answer,
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://app.example");
    assert.equal(res.headers.get("vary"), "Origin");
    // Errors carry the headers too, so the page can read them.
    const bad = await send(
      app,
      "POST",
      "/v1/chat/completions",
      { origin: "https://app.example", "content-type": "application/json" },
      "{",
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get("access-control-allow-origin"), "https://app.example");
    assert.equal(
      (await send(app, "OPTIONS", "/v1/chat/completions", { origin: "https://other.example" })).status,
      403,
    );
  });

  test("a foreign Host (DNS rebinding) is a 403; loopback names, the bind address and --allow-host pass", async () => {
    const { app } = setup({ bindHost: "127.0.0.1", allowHosts: ["imp-box.lan"] });
    for (const base of [
      "http://evil.example:8080",
      "http://localhost.evil.example",
      "http://10.0.0.7:8080",
    ]) {
      const res = await send(app, "GET", "/v1/models", {}, undefined, base);
      const err = await expectError(res, 403, null, /does not answer to the host .*--allow-host/);
      assert.equal(err.code, "host_not_allowed");
    }
    for (const base of [
      "http://localhost:8080",
      "http://127.0.0.1:1",
      "http://[::1]:8080",
      "http://IMP-BOX.lan:9",
    ])
      assert.equal((await send(app, "GET", "/v1/models", {}, undefined, base)).status, 200, base);
    // Bound to all interfaces, any IP address is this machine; names still need --allow-host.
    const { app: wide } = setup({ bindHost: "0.0.0.0" });
    assert.equal((await send(wide, "GET", "/health", {}, undefined, "http://192.168.1.9:8080")).status, 200);
    assert.equal((await send(wide, "GET", "/health", {}, undefined, "http://evil.example:8080")).status, 403);
  });

  test('a role named like an object member ("constructor") is an unknown role', async () => {
    const { app } = setup();
    for (const role of ["constructor", "__proto__", "toString"]) {
      const res = await chat(app, { messages: [{ role, content: "hi" }] });
      await expectError(res, 400, "messages[0].role", new RegExp(`unknown role "${role}"`));
      const ollama = await post(app, "/api/chat", { model: "m", messages: [{ role, content: "hi" }] });
      assert.equal(ollama.status, 400);
      assert.match(((await ollama.json()) as { error: string }).error, /unknown role/);
    }
  });
});

describe("preparation (image decoding, prompt counting) before the queue", () => {
  test("text longer than the context could hold is refused from its length, never tokenized", async () => {
    const { app, engine } = setup({}, new FakeEngine({ maxPromptChars: 100 }));
    const err = await expectError(
      await chat(app, user("y".repeat(101))),
      400,
      "messages",
      /101 characters, more than the 100/,
    );
    assert.equal(err.code, "context_length_exceeded");
    assert.equal(engine.prepared, 0);
    assert.equal((await chat(app, user("y".repeat(100)))).status, 200);
    assert.equal(engine.prepared, 1);
  });

  test("a preparation that outlasts the time limit is a 504, and frees its place", async () => {
    const { app, ctx, engine } = setup(
      { limits: { timeoutMs: 50 } },
      new FakeEngine({ prepareDelayMs: 60_000 }),
    );
    const err = await expectError(await chat(app, user("hi")), 504, null, /limit of 0\.05 s/);
    assert.equal(err.code, "timeout");
    assert.equal(engine.prepareAborted, 1);
    assert.equal(ctx.scheduler.preparing, 0);
  });
});
