/**
 * Hostile input against `imp serve` with the built-in model, as an attacker on 127.0.0.1 would send it: image
 * bombs of every format, prompts at and far above the context, parallel bursts of them, and cross-site
 * requests. Each must be refused with a clear JSON error faster than a normal answer measured in the same run,
 * while /health keeps answering (no request may block the event loop) and the server's memory stays flat.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fixture, repoRoot } from "../testing/fixtures.js";
import {
  apngFrameBomb,
  gifFrameBomb,
  jpegHugeBomb,
  jpegScansBomb,
  pngIccpBomb,
  pngIdatBomb,
  webpFrameBomb,
  webpStillBomb,
} from "../testing/image-bombs.js";
import { rawRequest } from "../testing/raw-http.js";

/** What one PNG bomb inflates to, were it decoded: far more than the server may keep. */
const BOMB_BYTES = 128 * 1024 * 1024;
const photo = new Uint8Array(readFileSync(fixture("preprocess", "portrait_photo.jpg")));
const small = new Uint8Array(readFileSync(fixture("preprocess", "landscape_rgb.png")));

let child: ChildProcess;
let url = "";
let port = 0;
/** A normal answer about an image (the median of three), and /health alone, measured at the start. */
let normalMs = 0;
let healthMs = 0;
let baseRssBytes = 0;

interface Answer {
  status: number;
  body: {
    error?: { message: string; code: string | null; param: string | null };
    usage?: { prompt_tokens: number };
  };
  ms: number;
  headers: Headers;
}

const serialize = (body: object) =>
  JSON.stringify({ model: "imp-tiny", max_tokens: 2, temperature: 0, ...body });

/** One request; a body given as a string is sent as it is (serialised ahead, to keep this process idle). */
async function chat(body: object | string, signal?: AbortSignal): Promise<Answer> {
  const json = typeof body === "string" ? body : serialize(body);
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: json,
    signal,
  });
  const answer = (await res.json()) as Answer["body"];
  return { status: res.status, body: answer, ms: performance.now() - t0, headers: res.headers };
}

const withImage = (bytes: Uint8Array, mime: string) => ({
  messages: [
    {
      role: "user",
      content: [
        {
          type: "image_url",
          image_url: { url: `data:${mime};base64,${Buffer.from(bytes).toString("base64")}` },
        },
        { type: "text", text: "What is it?" },
      ],
    },
  ],
});
const text = (t: string) => ({ messages: [{ role: "user", content: t }] });

/** Runs `work` while asking /health every 10 ms; returns its result and the slowest health answer. */
async function withHealthProbes<T>(work: () => Promise<T>): Promise<[T, number]> {
  let done = false;
  let slowest = 0;
  const probe = (async () => {
    while (!done) {
      const t0 = performance.now();
      const res = await fetch(`${url}/health`);
      await res.json();
      slowest = Math.max(slowest, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    return [await work(), slowest];
  } finally {
    done = true;
    await probe;
  }
}

function rssBytes(): number {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

before(async () => {
  // The built-in model, as a user starts it; a short queue so bursts meet the capacity.
  // The yardstick is a normal answer doing its whole work: with the image and conversation caches on, the
  // repeated normal request would come from them and measure nothing.
  child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(repoRoot, "src/cli/main.ts"),
      "serve",
      "--port",
      "0",
      "--max-queue",
      "3",
      "--image-cache-mib",
      "0",
      "--conversation-cache-mib",
      "0",
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, IMP_API_KEY: "" } },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d;
  });
  url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`imp serve exited with ${code}: ${stderr}`)));
  });
  port = Number(new URL(url).port);
  await chat(withImage(small, "image/png")); // warm up
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const a = await chat(withImage(photo, "image/jpeg"));
    assert.equal(a.status, 200, JSON.stringify(a.body));
    times.push(a.ms);
  }
  normalMs = median(times);
  const h: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await (await fetch(`${url}/health`)).json();
    h.push(performance.now() - t0);
  }
  healthMs = median(h);
  baseRssBytes = rssBytes();
});

after(async () => {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
});

/**
 * The slowest /health answer allowed while the server is under attack: a normal answer's time, plus the time
 * the HTTP thread must spend reading and parsing the attack's large bodies (bounded by the body limit), measured
 * alone in the same run.
 */
const healthBound = (bodiesMs = 0) => Math.max(normalMs, 20 * healthMs) + bodiesMs;

const BOMBS: Array<[string, () => Uint8Array, string, RegExp]> = [
  ["PNG image data", () => pngIdatBomb(BOMB_BYTES), "image/png", /inflates to more than the 4 bytes its 1×1/],
  [
    "PNG colour profile",
    () => pngIccpBomb(BOMB_BYTES),
    "image/png",
    /iCCP chunk inflates to more than 1048576/,
  ],
  [
    "animated WebP frame",
    () => webpFrameBomb(8192),
    "image/webp",
    /first frame is 16×16 but its image data declares 8192×8192/,
  ],
  [
    "WebP canvas",
    () => webpStillBomb(8192),
    "image/webp",
    /canvas is 16×16 but its image data declares 8192×8192/,
  ],
  [
    "GIF frame",
    gifFrameBomb,
    "image/gif",
    /65535×65535 = 4294\.8 megapixels, over the limit of 25 megapixels/,
  ],
  [
    "JPEG size",
    jpegHugeBomb,
    "image/jpeg",
    /65000×65000 = 4225\.0 megapixels, over the limit of 25 megapixels/,
  ],
  ["JPEG scans", () => jpegScansBomb(photo, 2000), "image/jpeg", /2001 scans, over the limit of 100/],
];

describe("imp serve under hostile input", () => {
  test("every image bomb is a 400 naming its limit, faster than a normal answer; /health answers throughout", async () => {
    for (const [name, make, mime, pattern] of BOMBS) {
      const body = serialize(withImage(make(), mime));
      const [a, slowest] = await withHealthProbes(() => chat(body));
      assert.equal(a.status, 400, `${name}: ${JSON.stringify(a.body)}`);
      assert.equal(a.body.error!.code, "invalid_image", name);
      assert.equal(a.body.error!.param, "messages[0].content[0].image_url.url", name);
      assert.match(a.body.error!.message, pattern, name);
      assert.ok(
        a.ms < normalMs * 2,
        `${name}: refused in ${a.ms.toFixed(0)} ms; a normal answer takes ${normalMs.toFixed(0)} ms`,
      );
      assert.ok(
        slowest < healthBound(),
        `${name}: /health took ${slowest.toFixed(0)} ms (normal answer ${normalMs.toFixed(0)} ms)`,
      );
    }
    // An APNG's later frames are never inflated: its first frame answers like any image.
    const apng = await chat(withImage(apngFrameBomb(BOMB_BYTES), "image/png"));
    assert.equal(apng.status, 200, JSON.stringify(apng.body));
  });

  test("prompts: the context's last position is served, one more is refused, megabytes are refused at once", async () => {
    // " red" is one token of the built-in tokenizer: find the template's overhead, then fill the context exactly.
    const p100 = (await chat({ ...text("red ".repeat(100).trim()), max_tokens: 1 })).body.usage!
      .prompt_tokens;
    const p200 = (await chat({ ...text("red ".repeat(200).trim()), max_tokens: 1 })).body.usage!
      .prompt_tokens;
    assert.equal(p200 - p100, 100);
    const overhead = p100 - 100;
    const fill = 511 - overhead; // the context is 512; one position stays free for the answer
    const at = await chat({ ...text("red ".repeat(fill).trim()), max_tokens: 5 });
    assert.equal(at.status, 200, JSON.stringify(at.body));
    assert.equal(at.body.usage!.prompt_tokens, 511);
    const over = await chat(text("red ".repeat(fill + 1).trim()));
    assert.equal(over.status, 400);
    assert.equal(over.body.error!.code, "context_length_exceeded");
    assert.match(over.body.error!.message, /the prompt takes 512 positions .* the model's context is 512/);
    // 4 MB of text: refused from its length, before any of it is tokenized. Moving 4 MB takes time of its own,
    // measured with the same body refused for a bad field before the messages are read.
    const lorem = "lorem ipsum ".repeat(350_000);
    const transport = await chat(serialize({ ...text(lorem), temperature: -1 }));
    assert.equal(transport.body.error!.param, "temperature");
    const hugeBody = serialize(text(lorem));
    const [huge, slowest] = await withHealthProbes(() => chat(hugeBody));
    assert.equal(huge.status, 400);
    assert.equal(huge.body.error!.code, "context_length_exceeded");
    assert.match(
      huge.body.error!.message,
      /4200000 characters, more than the \d+ that the model's context of 512 tokens/,
    );
    assert.ok(
      huge.ms < transport.ms + normalMs,
      `refused in ${huge.ms.toFixed(0)} ms; moving the body takes ${transport.ms.toFixed(0)} ms, a normal answer ${normalMs.toFixed(0)} ms`,
    );
    assert.ok(slowest < healthBound(transport.ms), `/health took ${slowest.toFixed(0)} ms`);
  });

  test("parallel bursts: each is a 400 or a 429 (the capacity counts preparations); /health answers; the next answer is right", async () => {
    const over = "red ".repeat(3000); // under the character bound, over the context: tokenized
    const burst = () => [
      ...BOMBS.map(([, make, mime]) => withImage(make(), mime)),
      text(over),
      text("x".repeat(4_000_000)),
      text(over),
    ];
    // Serialised ahead: the probes measure the server, not this process building 4 MB bodies.
    const bodies = [...burst(), ...burst()].map(serialize);
    // The burst holds two 4 MB bodies: the time to read and parse one, refused for a bad field.
    const transport = await chat(serialize({ ...text("x".repeat(4_000_000)), temperature: -1 }));
    assert.equal(transport.body.error!.param, "temperature");
    const t0 = performance.now();
    const [answers, slowest] = await withHealthProbes(() => Promise.all(bodies.map((b) => chat(b))));
    const wallMs = performance.now() - t0;
    const statuses = answers.map((a) => a.status);
    for (const a of answers) {
      assert.ok(a.status === 400 || a.status === 429, `${a.status}: ${JSON.stringify(a.body)}`);
      if (a.status === 429) assert.ok(Number(a.headers.get("retry-after")) >= 1);
    }
    assert.ok(statuses.includes(400) && statuses.includes(429), statuses.join(" "));
    assert.ok(
      slowest < healthBound(2 * transport.ms),
      `/health took ${slowest.toFixed(0)} ms during the burst; a normal answer ${normalMs.toFixed(0)} ms, ` +
        `a 4 MB body ${transport.ms.toFixed(0)} ms`,
    );
    assert.ok(wallMs < normalMs * bodies.length, `the burst took ${wallMs.toFixed(0)} ms`);
    const health = (await (await fetch(`${url}/health`)).json()) as { queue: Record<string, number> };
    assert.deepEqual([health.queue.active, health.queue.waiting, health.queue.preparing], [0, 0, 0]);
    const normal = await chat(withImage(photo, "image/jpeg"));
    assert.equal(normal.status, 200);
  });

  test("cross-site: another site's Origin, a foreign Host and non-JSON bodies are not served", async () => {
    const body = JSON.stringify({ model: "imp-tiny", max_tokens: 1, ...text("hi") });
    const host = `127.0.0.1:${port}`;
    const simple = await rawRequest(
      port,
      "POST",
      "/v1/chat/completions",
      {
        host,
        origin: "http://evil.example",
        "content-type": "text/plain",
      },
      body,
    );
    assert.equal(simple.status, 403);
    assert.match(JSON.parse(simple.body).error.message, /evil\.example/);
    const rebound = await rawRequest(port, "GET", "/v1/models", { host: `evil.example:${port}` });
    assert.equal(rebound.status, 403);
    const files = await rawRequest(port, "GET", "/model/files", { host: `evil.example:${port}` });
    assert.equal(files.status, 403);
    const form = await rawRequest(
      port,
      "POST",
      "/v1/chat/completions",
      {
        host,
        "content-type": "application/x-www-form-urlencoded",
      },
      body,
    );
    assert.equal(form.status, 415);
    const ok = await rawRequest(
      port,
      "POST",
      "/v1/chat/completions",
      { host, "content-type": "application/json" },
      body,
    );
    assert.equal(ok.status, 200);
  });

  test("memory comes back: the server grew by less than one bomb's payload over the whole run", async () => {
    const grown = rssBytes() - baseRssBytes;
    assert.ok(grown < BOMB_BYTES, `RSS grew by ${(grown / 2 ** 20).toFixed(0)} MiB`);
  });
});
