/**
 * What Imp's deployment levers save in time, on Imp-3B's widths (random weights, the bench's `phi2-slim`: 4 of 32
 * Phi-2 layers and 5 of 27 SigLIP layers, the LLM in q4), measured in one run on this machine: the time to the
 * first token of an image question at 729 and at 196 visual tokens, and of the conversation's next question (the
 * same image, the first answer, a new question) with the caches off and on. Greedy; each figure the median of
 * --repeats runs. The model files are the bench's (prepared once in its cache folder, $IMP_BENCH_DIR or
 * /tmp/imp-bench). Prints a markdown table naming the CPU and its vector extensions.
 *
 *   node --import tsx scripts/bench-levers.ts [--threads N] [--repeats 3]
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../src/backend/registry.js";
import type { ChatMessage } from "../src/io/template/index.js";
import { ImpPipeline } from "../src/runtime/pipeline.js";
import { machine } from "./bench/limits.js";
import { benchModels, prepareModel } from "./bench/models.js";
import { helpFromHeader } from "./help.js";

helpFromHeader(import.meta.url);
const { values } = parseArgs({
  options: { threads: { type: "string" }, repeats: { type: "string", default: "3" } },
});
const repeats = Number(values.repeats);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats: expected a positive integer`);
const threads = values.threads ? Number(values.threads) : undefined;

const cache = process.env.IMP_BENCH_DIR ?? join(tmpdir(), "imp-bench");
const model = benchModels(true).find((m) => m.key === "phi2-slim");
if (!model) throw new Error("the bench has no phi2-slim model");
const log = (s: string) => process.stderr.write(`${s}\n`);
const prepared = prepareModel(model, cache, ["q4"], { gguf: false, mtmd: false }, log);
const folder = prepared.formatDir.q4!;
const image = join(new URL("..", import.meta.url).pathname, "examples", "shapes.png");

const backend = await createBackend("wasm", { threads });
const cold = await ImpPipeline.load(folder, { backend });
const warm = await ImpPipeline.load(folder, {
  backend,
  imageCacheBytes: 256 * 2 ** 20,
  conversationCacheBytes: 2 ** 30,
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** Time to the first token (vision + prefill) of one answer, in seconds. */
async function firstToken(imp: ImpPipeline, messages: ChatMessage[], imageTokens?: number) {
  const r = await imp.generate({ image, messages, maxNewTokens: 8, imageTokens });
  return { s: (r.stats.visionMs + r.stats.prefillMs) / 1000, text: r.text, stats: r.stats };
}

const first: ChatMessage[] = [{ role: "user", content: "What shapes are in the picture?" }];
const rows: [string, number, string][] = [];
for (const tokens of [729, 196]) {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) times.push((await firstToken(cold, first, tokens)).s);
  rows.push([`image question, ${tokens} visual tokens`, median(times), ""]);
}
const answer = (await firstToken(cold, first)).text;
const next: ChatMessage[] = [
  ...first,
  { role: "assistant", content: answer },
  { role: "user", content: "What colour is the largest one?" },
];
const coldNext: number[] = [];
for (let i = 0; i < repeats; i++) coldNext.push((await firstToken(cold, next)).s);
rows.push(["next question, caches off", median(coldNext), ""]);
const warmNext: number[] = [];
let reused = 0;
for (let i = 0; i < repeats; i++) {
  await firstToken(warm, first); // the conversation so far, as a chat would have sent it
  const r = await firstToken(warm, next);
  warmNext.push(r.s);
  reused = r.stats.cachedPositions;
}
rows.push(["next question, caches on", median(warmNext), `${reused} prompt positions reused`]);

const m = machine();
const base = rows[0]![1];
console.log(
  [
    `Imp's levers on Imp-3B's widths (phi2-slim: 4 of 32 Phi-2 layers, 5 of 27 SigLIP layers; LLM q4, tower f16), ` +
      `${m.cpu}, ${m.simd}, ${backend.threads} threads, median of ${repeats}:`,
    "",
    "| request | time to first token (s) | vs. 729 tokens, cold | note |",
    "| --- | ---: | ---: | --- |",
    ...rows.map(([what, s, note]) => `| ${what} | ${s.toFixed(2)} | ${(s / base).toFixed(2)}× | ${note} |`),
  ].join("\n"),
);
warm.imageCache?.clear();
warm.conversationCache?.clear();
warm.model.dispose();
cold.dispose();
