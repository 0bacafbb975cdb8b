/**
 * What Imp's deployment levers cost in accuracy and save in time, on a model's held-out test sets: for every
 * combination of visual tokens (--tokens), the LLM's weight format (--llm: f16, q8, q4, quantized at load as
 * `imp run --dtype` does) and the vision tower's (--tower: f16, q8), the test sets of the world (VQAv2-style short
 * answers, POPE-style existence, TextVQA-style text, ChartQA-style charts) are answered with `imp eval run`'s runner
 * and scored by `imp eval score`'s scorers; each combination's scores are kept in OUT/levers.json as it finishes,
 * so a killed run resumes with the next. Then the time to the first token of an image question (the tower and the
 * prefill) is measured for all of them in interleaved rounds (median of --ttft-runs VQAv2-style questions). Writes the table into
 * docs/benchmarks.md (its section on the levers' accuracy) and the chart to docs/levers-accuracy.svg (accuracy against time
 * to first token, one point per combination).
 *
 *   node --import tsx scripts/levers-accuracy.ts [--model models/imp-tiny] [--world .cache/train-tiny/world]
 *     [--tokens 64,36,16] [--llm f16,q8,q4] [--tower f16,q8] [--limit 150] [--ttft-runs 9] [--threads N]
 *     [--out .cache/levers-accuracy] [--no-write]
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../src/backend/registry.js";
import { positiveInt } from "../src/cli/common.js";
import type { BenchmarkName } from "../src/eval/benchmarks.js";
import { createLocalAnswerer } from "../src/eval/local-answerer.js";
import { ProgressBar } from "../src/eval/progress.js";
import { runEval } from "../src/eval/runner.js";
import type { WeightDType } from "../src/models/load.js";
import { ImpPipeline } from "../src/runtime/pipeline.js";
import { writeAtomic, writeJsonAtomic } from "../src/util/atomic-file.js";
import { machine } from "./bench/limits.js";
import { replaceSection } from "./docs-section.js";
import { helpFromHeader } from "./help.js";
import { leversChart } from "./levers/chart.js";
import { MODEL_AND_WORLD } from "./tiny-paths.js";

helpFromHeader(import.meta.url);
const { values } = parseArgs({
  options: {
    ...MODEL_AND_WORLD,
    tokens: { type: "string", default: "64,36,16" },
    llm: { type: "string", default: "f16,q8,q4" },
    tower: { type: "string", default: "f16,q8" },
    limit: { type: "string", default: "150" },
    "ttft-runs": { type: "string", default: "9" },
    threads: { type: "string" },
    out: { type: "string", default: ".cache/levers-accuracy" },
    "no-write": { type: "boolean", default: false },
  },
});

function formats(name: string, v: string, allowed: readonly WeightDType[]): WeightDType[] {
  const out = v.split(",").map((s) => s.trim()) as WeightDType[];
  for (const f of out)
    if (!allowed.includes(f)) throw new Error(`--${name}: expected some of ${allowed.join(", ")}, got ${f}`);
  return out;
}
const tokensList = values.tokens.split(",").map((t) => positiveInt("--tokens")(t));
const llmFormats = formats("llm", values.llm, ["f16", "q8", "q4"]);
const towerFormats = formats("tower", values.tower, ["f16", "q8"]);
const limit = positiveInt("--limit")(values.limit);
const ttftRuns = positiveInt("--ttft-runs")(values["ttft-runs"]);
const threads = values.threads ? positiveInt("--threads")(values.threads) : undefined;
const model = resolve(values.model);
const test = join(resolve(values.world), "eval", "test");
if (!existsSync(test)) throw new Error(`--world: ${values.world} has no eval/test folder (npm run world)`);
const out = resolve(values.out);
mkdirSync(out, { recursive: true });

/** The sets scored, each with the score that stands for its category. */
const SETS: {
  folder: string;
  bench: BenchmarkName;
  label: string;
  pick: (s: Record<string, unknown>) => number;
}[] = [
  { folder: "vqav2", bench: "vqav2", label: "short answers %", pick: (s) => Number(s.overall) },
  {
    folder: "pope",
    bench: "pope",
    label: "existence F1 (adversarial)",
    pick: (s) => Number((s.f1 as Record<string, number>).adversarial),
  },
  { folder: "textvqa", bench: "textvqa", label: "text %", pick: (s) => Number(s.accuracy) },
  { folder: "chartqa", bench: "textvqa", label: "charts %", pick: (s) => Number(s.accuracy) },
];

interface Result {
  tokens: number;
  llm: WeightDType;
  tower: WeightDType;
  scores: Record<string, number>;
  /** Median time to the first token, milliseconds (tower + prefill). */
  ttftMs: number;
  towerMs: number;
}
const key = (r: Pick<Result, "tokens" | "llm" | "tower">) => `${r.tokens}/${r.llm}/${r.tower}`;
const file = join(out, "levers.json");
/** Accuracy per combination, kept as each finishes (the run resumes with the next). */
const accuracy: Pick<Result, "tokens" | "llm" | "tower" | "scores">[] = existsSync(file)
  ? JSON.parse(readFileSync(file, "utf8"))
  : [];
const backend = await createBackend("wasm", { threads });
const combos = tokensList.flatMap((tokens) =>
  llmFormats.flatMap((llm) => towerFormats.map((tower) => ({ tokens, llm, tower }))),
);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const firstQuestions = readFileSync(join(test, "vqav2", "llava_vqav2_mscoco_test-dev2015.jsonl"), "utf8")
  .trim()
  .split("\n")
  .slice(0, ttftRuns)
  .map((l) => JSON.parse(l) as { image: string; text: string });

for (const c of combos) {
  if (accuracy.some((r) => key(r) === key(c))) continue;
  const load = { backend, dtype: c.llm, visionDtype: c.tower, imageTokens: c.tokens };
  const scores: Record<string, number> = {};
  const answerer = await createLocalAnswerer(model, load);
  for (const s of SETS) {
    const summary = await runEval({
      benchmark: s.bench,
      data: join(test, s.folder),
      out: join(out, key(c).replaceAll("/", "-"), `${s.folder}.jsonl`),
      answerer,
      source: model,
      progress: process.stderr,
      limit,
    });
    if (!summary.score) throw new Error(`${s.folder}: no score (${summary.score_note})`);
    scores[s.label] = s.pick(summary.score);
  }
  await answerer.close?.();
  accuracy.push({ ...c, scores });
  writeJsonAtomic(file, accuracy);
}

// Time to the first token, interleaved: every round asks each combination once (its own question of the round),
// so all of them see the same machine; one warm-up round first compiles the kernels for each shape.
const pipes = await Promise.all(
  combos.map((c) =>
    ImpPipeline.load(model, { backend, dtype: c.llm, visionDtype: c.tower, imageTokens: c.tokens }),
  ),
);
const ttft = combos.map(() => [] as number[]);
const tower = combos.map(() => [] as number[]);
const bar = new ProgressBar((ttftRuns + 1) * combos.length, "time to first token");
for (let round = 0; round <= ttftRuns; round++) {
  const q = firstQuestions[Math.max(0, round - 1) % firstQuestions.length]!;
  for (const [i, imp] of pipes.entries()) {
    const r = await imp.generate({
      image: join(test, "vqav2", "test2015", q.image),
      prompt: q.text,
      maxNewTokens: 1,
    });
    if (round > 0) {
      ttft[i]!.push(r.stats.visionMs + r.stats.prefillMs);
      tower[i]!.push(r.stats.visionMs);
    }
    bar.tick();
  }
}
bar.finish();
for (const p of pipes) p.dispose();
const results: Result[] = combos.map((c, i) => ({
  ...c,
  scores: accuracy.find((a) => key(a) === key(c))!.scores,
  ttftMs: median(ttft[i]!),
  towerMs: median(tower[i]!),
}));

/** The docs/benchmarks.md section this script writes. */
const SECTION = "Imp's deployment levers: accuracy against time, on the built-in model";
const labels = SETS.map((s) => s.label);
const fmt = (label: string, v: number) => (label.includes("F1") ? v.toFixed(3) : v.toFixed(1));
const own = results.find((r) => r.llm === "f16" && r.tower === "f16" && r.tokens === Math.max(...tokensList));
const shown = results;
const table = [
  `| visual tokens | LLM | tower | ${labels.join(" | ")} | time to first token (ms) | ÷ f16 at ${own?.tokens ?? "?"} tokens | tower (ms) |`,
  `| ---: | --- | --- | ${labels.map(() => "---:").join(" | ")} | ---: | ---: | ---: |`,
  ...shown.map(
    (r) =>
      `| ${r.tokens} | ${r.llm} | ${r.tower} | ${labels.map((l) => fmt(l, r.scores[l]!)).join(" | ")} | ` +
      `${r.ttftMs.toFixed(1)} | ${own ? (r.ttftMs / own.ttftMs).toFixed(2) : "—"} | ${r.towerMs.toFixed(1)} |`,
  ),
].join("\n");
const m = machine();
const text = [
  `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC by \`node --import tsx scripts/levers-accuracy.ts\` ` +
    `on ${m.cpu} (${m.simd}), ${backend.threads} thread(s); model \`${values.model}\`, the world's held-out ` +
    `test sets, the first ${limit} questions of each, greedy, scored by \`imp eval score\`'s scorers. Time to the ` +
    `first token: median of ${ttftRuns} VQAv2-style image questions (tower + prefill).`,
  "",
  table,
  "",
  "![accuracy against time to first token](levers-accuracy.svg)",
].join("\n");
console.log(text);
if (!values["no-write"]) {
  writeAtomic(resolve("docs", "levers-accuracy.svg"), leversChart(shown, labels[0]!));
  replaceSection(resolve("docs", "benchmarks.md"), SECTION, text);
}
process.exit(0);
