/**
 * The in-tab engine's speed beside Node.js, measured side by side in one run on this machine: the same model
 * folder, image, prompt and thread count, greedy, answered by `ImpPipeline` in Node.js (wasm kernels on worker
 * threads) and by the web page's in-tab engine in headless Chromium (the same kernels in Web Workers, the files
 * fetched from `imp serve`'s /model/). Prints, per model, the median vision, prefill and decode times of both and
 * the ratio Node ÷ in-tab (above 1: the tab is slower), naming the CPU and the browser.
 *
 *   node --import tsx scripts/bench-in-tab.ts [--models builtin,phi2-slim] [--threads 2] [--runs 3] [--tokens 32]
 *
 * builtin is models/imp-tiny; phi2-slim is Imp-v1.5-3B-Phi2's widths with 4 of 32 LLM layers and 5 of 27 vision
 * layers, random weights quantized to q4 (written once under .cache/bench, as `npm run bench` does).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { InProcessEngine } from "../src/runtime/engine/in-process-engine.js";
import type { GenerationStats } from "../src/runtime/generate.js";
import { ImpPipeline } from "../src/runtime/pipeline.js";
import { createApp } from "../src/serve/app.js";
import { listen } from "../src/serve/server.js";
import { machine } from "./bench/limits.js";
import { benchModels, prepareModel } from "./bench/models.js";
import { helpFromHeader } from "./help.js";

helpFromHeader(import.meta.url);
const { values } = parseArgs({
  options: {
    models: { type: "string", default: "builtin,phi2-slim" },
    threads: { type: "string", default: "2" },
    runs: { type: "string", default: "3" },
    tokens: { type: "string", default: "32" },
  },
});
const positive = (name: string, v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer, got ${v}`);
  return n;
};
const threads = positive("threads", values.threads);
const runs = positive("runs", values.runs);
const tokens = positive("tokens", values.tokens);
const CHROMIUM = process.env.IMP_CHROMIUM ?? "/usr/bin/chromium";
const image = readFileSync("examples/shapes.png");
const prompt = "Describe the image in detail.";
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Times {
  visionMs: number;
  prefillMs: number;
  /** Per token after the first. */
  decodeMs: number;
  tokens: number;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summarize = (stats: GenerationStats[]): Times => ({
  visionMs: median(stats.map((s) => s.visionMs)),
  prefillMs: median(stats.map((s) => s.prefillMs)),
  decodeMs: median(stats.map((s) => s.decodeMs / Math.max(1, s.generatedTokens - 1))),
  tokens: median(stats.map((s) => s.generatedTokens)),
});

const known = new Map(benchModels(true).map((m) => [m.key, m]));
const rows: string[] = [];
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
try {
  for (const key of values.models.split(",")) {
    const m = known.get(key);
    if (!m)
      throw new Error(`--models: unknown model ${key}; expected some of ${[...known.keys()].join(", ")}`);
    const prepared = prepareModel(
      { ...m, variants: false },
      join(".cache", "bench"),
      ["q4"],
      { gguf: false, mtmd: false },
      log,
    );
    const dir = m.source === "builtin" ? prepared.dir : prepared.formatDir.q4!;
    log(`${key}: ${dir}`);

    const imp = await ImpPipeline.load(dir, { backend: "wasm", threads });
    const ask = () =>
      imp.generate({
        messages: [{ role: "user", content: `<image>\n${prompt}` }],
        image: new Uint8Array(image),
        maxNewTokens: tokens,
        sampling: { temperature: 0 },
      });
    await ask();
    const nodeStats: GenerationStats[] = [];
    for (let i = 0; i < runs; i++) nodeStats.push((await ask()).stats);

    const server = await listen(
      createApp({
        engine: new InProcessEngine(imp),
        inTab: { folder: dir },
        processMetrics: false,
        log: () => {},
      }).app,
      { host: "127.0.0.1", port: 0 },
    );
    const page = await browser.newPage();
    page.on("pageerror", (e) => log(`page error: ${e.message}`));
    await page.goto(server.url);
    const tabStats = await page.evaluate(
      async ({ threads, runs, tokens, prompt, png }) => {
        const module = "/in-tab.js"; // the page's own module, imported in the page
        const { InTabEngine } = await import(module);
        const engine = new InTabEngine();
        await engine.load({}, null, threads);
        const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
        const job = {
          turns: [{ role: "user", text: prompt, hasImage: true }],
          image: bytes,
          maxNewTokens: tokens,
          sampling: { temperature: 0 },
        };
        await engine.run(job, () => {});
        const out = [];
        for (let i = 0; i < runs; i++) out.push((await engine.run(job, () => {})).stats);
        engine.terminate();
        return out;
      },
      { threads, runs, tokens, prompt, png: image.toString("base64") },
    );
    await page.close();
    await server.close();
    imp.dispose();

    const n = summarize(nodeStats);
    const t = summarize(tabStats as GenerationStats[]);
    const row = (what: string, a: number, b: number, unit: string, digits: number) =>
      `| ${m.label} | ${what} | ${a.toFixed(digits)} ${unit} | ${b.toFixed(digits)} ${unit} | ${(b / a).toFixed(2)}× |`;
    rows.push(
      row("vision encode", n.visionMs, t.visionMs, "ms", 1),
      row("prefill", n.prefillMs, t.prefillMs, "ms", 1),
      row(`decode, per token (${n.tokens} tokens)`, n.decodeMs, t.decodeMs, "ms", 2),
    );
  }
  const mc = machine();
  console.log(
    `${mc.cpu}, ${mc.cores} cores; Node ${mc.node}; Chromium ${browser.version()}; ${threads} threads each; median of ${runs} runs after one warm-up\n`,
  );
  console.log("| model | phase | Node.js | in-tab (Chromium) | in-tab ÷ Node |");
  console.log("| --- | --- | ---: | ---: | ---: |");
  for (const r of rows) console.log(r);
} finally {
  await browser.close();
}
