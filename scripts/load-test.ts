/**
 * Load test of `imp serve` (not a unit test): starts the server as a child process on a free loopback
 * port, runs N concurrent streaming clients for a bounded time (each asks about an image; a share of
 * requests are deliberately bad and must get a 400 without disturbing the others), samples the server's
 * RSS from /metrics every second, and reports throughput, p50/p95 latency and time to first token, errors,
 * and whether memory stayed flat. Results go to docs/benchmarks.md, section "Serving under load".
 *
 * Usage: npm run load-test -- [--model DIR] [--clients 4] [--duration 30] [--max-tokens 32]
 *                             [--backend js|wasm] [--bad-ratio 0.1] [--no-write]
 * Without --model: the built-in model when installed, else the tiny-imp-qwen2 fixture with a test tokenizer.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../src/backend/registry.js";
import { BUILTIN_MODEL } from "../src/cli/common.js";
import { fixture, repoRoot } from "../src/testing/fixtures.js";
import { writeTinyTokenizer } from "../src/testing/tiny-tokenizer.js";
import { replaceSection } from "./docs-section.js";
import { helpFromHeader } from "./help.js";

helpFromHeader(import.meta.url);

const { values: args } = parseArgs({
  options: {
    model: { type: "string" },
    clients: { type: "string", default: "4" },
    duration: { type: "string", default: "30" },
    "max-tokens": { type: "string", default: "32" },
    backend: { type: "string" },
    "bad-ratio": { type: "string", default: "0.1" },
    "no-write": { type: "boolean", default: false },
  },
});
const clients = Math.max(1, Number(args.clients));
// Bounded whatever is asked: this is a test, not a soak.
const durationS = Math.min(600, Math.max(1, Number(args.duration)));
const maxTokens = Math.max(1, Number(args["max-tokens"]));
const badRatio = Math.min(1, Math.max(0, Number(args["bad-ratio"])));

const QUESTIONS = [
  "What is the shape?",
  "Describe the image.",
  "What colours do you see?",
  "How many objects are there?",
  "Where is the circle?",
];

async function pickBackend(): Promise<string> {
  if (args.backend) return args.backend;
  try {
    (await createBackend("wasm", { threads: 1 })).dispose();
    return "wasm";
  } catch {
    return "js";
  }
}

function modelFolder(): { dir: string; label: string; fixture: boolean; cleanup(): void } {
  if (args.model) return { dir: args.model, label: basename(args.model), fixture: false, cleanup() {} };
  if (existsSync(BUILTIN_MODEL))
    return { dir: BUILTIN_MODEL, label: "built-in (imp-tiny)", fixture: false, cleanup() {} };
  const dir = mkdtempSync(join(tmpdir(), "imp-load-"));
  cpSync(fixture("tiny-imp-qwen2"), dir, { recursive: true });
  writeTinyTokenizer(dir, "imp_qwen2");
  return {
    dir,
    label: "tiny-imp-qwen2 fixture (random weights, test tokenizer)",
    fixture: true,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function startServer(dir: string, backend: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(repoRoot, "src/cli/main.ts"),
      "serve",
      "--model",
      dir,
      "--port",
      "0",
      "--backend",
      backend,
      "--max-queue",
      String(clients * 2),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stderr!.on("data", (d: Buffer) => process.stderr.write(`[server] ${d}`));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once("exit", (code) => reject(new Error(`the server exited with code ${code} before listening`)));
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

interface Sample {
  latencyMs: number;
  firstTokenMs: number | null;
  tokens: number;
}

/** One streamed request; resolves with its timings, or the HTTP status / error it failed with. */
async function ask(url: string, body: unknown): Promise<Sample | { status: number; error: string }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }).catch((e: Error) => e);
  if (res instanceof Error) return { status: 0, error: res.message };
  if (!res.ok)
    return {
      status: res.status,
      error: ((await res.json()) as { error: { message: string } }).error.message,
    };
  let firstTokenMs: number | null = null;
  let tokens = 0;
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const data = buffer.slice(0, end).replace(/^data: /, "");
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf("\n\n");
      if (data === "[DONE]" || data.startsWith(":")) continue;
      const msg = JSON.parse(data) as {
        error?: { message: string };
        choices: Array<{ delta: { content?: string } }>;
        usage?: { completion_tokens: number } | null;
      };
      if (msg.error) return { status: 200, error: `in stream: ${msg.error.message}` };
      if (msg.choices[0]?.delta.content && firstTokenMs === null) firstTokenMs = performance.now() - t0;
      if (msg.usage) tokens = msg.usage.completion_tokens;
    }
  }
  return { latencyMs: performance.now() - t0, firstTokenMs, tokens };
}

async function rss(url: string): Promise<number | null> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** A markdown table with its columns padded, as the repository's formatter (biome) writes them. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(3, ...rows.map((r) => [...r[c]!].length)));
  const line = (r: string[]) =>
    `| ${r.map((cell, c) => cell + " ".repeat(widths[c]! - [...cell].length)).join(" | ")} |`;
  return [line(rows[0]!), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)];
}

const mib = (b: number) => `${(b / 1048576).toFixed(0)} MiB`;
const fmt = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : "–");

async function main(): Promise<void> {
  const backend = await pickBackend();
  const model = modelFolder();
  const image = `data:image/png;base64,${readFileSync(fixture("preprocess", "landscape_rgb.png")).toString("base64")}`;
  const corrupt = `data:image/png;base64,${readFileSync(fixture("preprocess", "landscape_rgb.png")).subarray(0, 300).toString("base64")}`;
  const { url, child } = await startServer(model.dir, backend);
  process.stderr.write(
    `load test: ${clients} clients × ${durationS} s against ${url} (${model.label}, ${backend})\n`,
  );
  try {
    const request = (i: number, bad: boolean) => ({
      model: "imp",
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: maxTokens,
      temperature: 0.7,
      seed: i,
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: bad ? corrupt : image } },
            { type: "text", text: QUESTIONS[i % QUESTIONS.length] },
          ],
        },
      ],
    });
    // Warm-up: the first request pays for JIT and first-touch of the weights.
    const warm = await ask(url, request(0, false));
    if (!("latencyMs" in warm)) throw new Error(`warm-up request failed: ${warm.status} ${warm.error}`);

    const rssSeries: Array<[number, number]> = [];
    const t0 = performance.now();
    const deadline = t0 + durationS * 1000;
    const sampler = (async () => {
      while (performance.now() < deadline) {
        const r = await rss(url);
        if (r !== null) rssSeries.push([(performance.now() - t0) / 1000, r]);
        await new Promise((res) => setTimeout(res, 1000));
      }
    })();

    const samples: Sample[] = [];
    const errors = new Map<string, number>();
    let badRefused = 0;
    let next = 1;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (performance.now() < deadline) {
          const i = next++;
          const bad = Math.random() < badRatio;
          const r = await ask(url, request(i, bad));
          if (bad) {
            if ("status" in r && r.status === 400) badRefused++;
            else
              errors.set(
                "bad request not refused with 400",
                (errors.get("bad request not refused with 400") ?? 0) + 1,
              );
          } else if ("latencyMs" in r) samples.push(r);
          else {
            const key = `${r.status} ${r.error.slice(0, 80)}`;
            errors.set(key, (errors.get(key) ?? 0) + 1);
            if (r.status === 429) await new Promise((res) => setTimeout(res, 1000));
          }
        }
      }),
    );
    const wallS = (performance.now() - t0) / 1000;
    await sampler;
    const final = await rss(url);
    if (final !== null) rssSeries.push([wallS, final]);

    const lat = samples.map((s) => s.latencyMs);
    const ttft = samples.flatMap((s) => (s.firstTokenMs === null ? [] : [s.firstTokenMs]));
    const tokens = samples.reduce((n, s) => n + s.tokens, 0);
    // The first quarter is the ramp-up (buffers and caches filling); flat means the second and the last
    // quarters hold the same memory.
    const quarter = Math.max(1, Math.floor(rssSeries.length / 4));
    const avg = (xs: Array<[number, number]>) => xs.reduce((a, [, b]) => a + b, 0) / xs.length;
    const early = avg(rssSeries.slice(quarter, 2 * quarter));
    const late = avg(rssSeries.slice(-quarter));
    const growth = ((late - early) / early) * 100;
    const maxRss = Math.max(...rssSeries.map(([, b]) => b));
    const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
    const step = Math.max(1, Math.floor(rssSeries.length / 8));
    const series = rssSeries
      .filter((_, i) => i % step === 0 || i === rssSeries.length - 1)
      .map(([t, b]) => `${t.toFixed(0)} s: ${mib(b)}`)
      .join(" · ");

    const body = [
      `\`npm run load-test -- --clients ${clients} --duration ${durationS} --max-tokens ${maxTokens}\` on ${new Date().toISOString().slice(0, 10)}:`,
      `${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, Node ${process.version}; model: ${model.label}; backend ${backend}; ` +
        `one generation at a time (the default), queue of ${clients * 2}; streamed requests with a ${Math.round(badRatio * 100)} % share of corrupt images.`,
      "",
      ...table([
        ["measure", "value"],
        [
          "requests answered",
          `${samples.length} in ${wallS.toFixed(1)} s (${(samples.length / wallS).toFixed(2)} req/s)`,
        ],
        ["tokens generated", `${tokens} (${(tokens / wallS).toFixed(1)} tokens/s)`],
        ["latency p50 / p95", `${fmt(percentile(lat, 50))} / ${fmt(percentile(lat, 95))}`],
        ["time to first token p50 / p95", `${fmt(percentile(ttft, 50))} / ${fmt(percentile(ttft, 95))}`],
        ["bad requests refused (400)", String(badRefused)],
        [
          "errors",
          `${errorCount}${errorCount ? ` (${[...errors].map(([k, n]) => `${n}× ${k.replaceAll("|", "/")}`).join("; ")})` : ""}`,
        ],
        [
          "server RSS, 2nd → last quarter",
          `${mib(early)} → ${mib(late)} (${growth >= 0 ? "+" : ""}${growth.toFixed(1)} %), max ${mib(maxRss)}`,
        ],
      ]),
      "",
      `RSS over time: ${series}.`,
      "",
      "With one generation at a time, latency is queueing: each of the N clients waits for the N − 1 others, so p50 ≈ N × one " +
        "answer's time; throughput is the engine's. Bad requests are refused before the queue and do not slow the others." +
        (model.fixture
          ? " The fixture model is tiny (2 layers, width 64), so these numbers measure the server (HTTP, validation, queue, " +
            "worker messages), not a real model's speed; `--model DIR` runs the same test on a real checkpoint."
          : ""),
    ].join("\n");
    process.stdout.write(`\n${body}\n`);
    if (!args["no-write"]) {
      replaceSection(join(repoRoot, "docs", "benchmarks.md"), "Serving under load", body);
      process.stderr.write("load test: written to docs/benchmarks.md (## Serving under load)\n");
    }
    if (errorCount > 0 || Math.abs(growth) > 25) process.exitCode = 1;
  } finally {
    await stopServer(child);
    model.cleanup();
  }
}

await main();
