/**
 * The real-size run (not a test): writes random-weight checkpoints with the real shapes and layout of
 * Imp-v1.5-3B-Phi2, Imp-v1.5-2B-Qwen1.5 and Imp-v1.5-4B-Phi3 (bf16, sharded, with real tokenizer vocabularies)
 * into a temporary folder, then runs `imp run --json` on each in a fresh process with an image, and records load
 * time, vision encode time (729 tokens), prefill tokens/s, time to first token, decode tokens/s, peak RSS and the
 * wasm heap's peak in docs/benchmarks.md (rows of other models or settings are kept).
 *
 *   node --import tsx scripts/real-size.ts [--models phi2,qwen,phi3] [--dtype q4] [--vision-dtype f16|q8]
 *       [--kv-dtype f32|f16] [--context N] [--keep DIR] [--max-tokens 32] [--threads N] [--note TEXT]
 *
 * --context N fills the question with text so that prompt and answer take N positions: the KV cache, the prefill's
 * activations and its attention scores all at that length, the memory a context of N needs.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { templateForModelType } from "../src/io/template/index.js";
import { Tokenizer } from "../src/io/tokenizer/index.js";
import { parseModelConfig } from "../src/models/config.js";
import { PRESETS } from "../src/models/presets.js";
import { writeRandomCheckpoint } from "../src/models/random.js";
import { PromptBuilder } from "../src/runtime/prompt.js";
import { writeTokenizerFiles } from "../src/testing/tokenizer-reference.js";
import { replaceSection } from "./docs-section.js";

const { values } = parseArgs({
  options: {
    models: { type: "string", default: "phi2,qwen" },
    dtype: { type: "string", default: "q4" },
    "vision-dtype": { type: "string" },
    "kv-dtype": { type: "string", default: "f32" },
    context: { type: "string" },
    keep: { type: "string" },
    "max-tokens": { type: "string", default: "32" },
    threads: { type: "string" },
    note: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(
    "node --import tsx scripts/real-size.ts [--models phi2,qwen,phi3] [--dtype q4] [--vision-dtype f16|q8] [--kv-dtype f32|f16]\n" +
      "    [--context N] [--keep DIR] [--max-tokens 32] [--threads N] [--note TEXT]\n" +
      "Writes random-weight bf16 checkpoints with the real shapes of Imp-v1.5-3B-Phi2 / 2B-Qwen1.5 / 4B-Phi3 (about 6, 4\n" +
      "and 8 GiB), runs `imp run --json` on each and records the numbers in docs/benchmarks.md (rows of other\n" +
      "models or settings stay); --context N fills the prompt so prompt + answer take N positions; --keep DIR\n" +
      "keeps the checkpoints; " +
      "--note adds a line under the table (e.g. what else ran on the machine).\n",
  );
  process.exit(0);
}

const root = new URL("..", import.meta.url).pathname;
const work = values.keep ?? mkdtempSync(join(tmpdir(), "imp-real-size-"));
mkdirSync(work, { recursive: true });
const models = {
  phi2: { preset: "imp-v1.5-3b-phi2", label: "Imp-v1.5-3B-Phi2 (SigLIP-SO400M-384 + Phi-2)" },
  qwen: { preset: "imp-v1.5-2b-qwen1.5", label: "Imp-v1.5-2B-Qwen1.5 (SigLIP-SO400M-384 + Qwen1.5-1.8B)" },
  phi3: { preset: "imp-v1.5-4b-phi3", label: "Imp-v1.5-4B-Phi3 (SigLIP-SO400M-384 + Phi-3-mini)" },
} as const;
const maxTokens = Number(values["max-tokens"]);
const QUESTION = "Describe this image in detail.";
const FILLER = "The quick brown fox jumps over the lazy dog while the painter mixes colours by the window. ";

/** The question, lengthened with filler so that the prompt (template, 729 image positions, text) takes `positions`. */
async function questionFor(dir: string, positions: number): Promise<string> {
  const config = parseModelConfig(PRESETS[basename(dir)]!, "config.json");
  const prompt = new PromptBuilder({
    tokenizer: await Tokenizer.fromFolder(dir),
    template: templateForModelType(config.modelType),
    imageTokens: 729,
    imagePlacement: config.imagePlacement,
    imageTokenIndex: config.imageTokenIndex,
  });
  const count = (q: string) => prompt.promptPositions([{ role: "user", content: q }], true);
  let filler = "";
  while (count(`${filler}${FILLER}${QUESTION}`) <= positions) filler += FILLER;
  while (count(`${filler}dog ${QUESTION}`) <= positions) filler += "dog ";
  return `${filler}${QUESTION}`;
}

function impRun(dir: string, question: string): Record<string, number | string | null> {
  const args = [
    "--import",
    "tsx",
    join(root, "src/cli/main.ts"),
    "run",
    "--model",
    dir,
    "--dtype",
    values.dtype,
    ...(values["vision-dtype"] ? ["--vision-dtype", values["vision-dtype"]] : []),
    "--kv-dtype",
    values["kv-dtype"],
    "--image",
    join(root, "../shared/fixtures/preprocess/landscape_rgb.png"),
    "--max-tokens",
    String(maxTokens),
    "--json",
    ...(values.threads ? ["--threads", values.threads] : []),
    question,
  ];
  const out = execFileSync(process.execPath, args, {
    encoding: "utf8",
    maxBuffer: 1 << 26,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(out) as Record<string, number | string | null>;
}

const rows = new Map<string, string>();
for (const kind of values.models.split(",") as Array<keyof typeof models>) {
  const m = models[kind];
  if (!m) throw new Error(`--models: unknown model "${kind}" (phi2, qwen, phi3)`);
  const dir = join(work, m.preset);
  if (!existsSync(join(dir, "config.json"))) {
    const t0 = performance.now();
    process.stderr.write(`writing ${m.preset} (random bf16 weights) to ${dir} …\n`);
    const bytes = writeRandomCheckpoint(PRESETS[m.preset]!, dir, { seed: 1, dtype: "bf16" });
    writeTokenizerFiles(kind, dir);
    process.stderr.write(
      `  ${(bytes / 2 ** 30).toFixed(2)} GiB in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
    );
  }
  const question = values.context ? await questionFor(dir, Number(values.context) - maxTokens) : QUESTION;
  process.stderr.write(
    `running imp run --dtype ${values.dtype} --kv-dtype ${values["kv-dtype"]} on ${m.preset} …\n`,
  );
  const r = impRun(dir, question);
  const gib = (x: unknown) => `${(Number(x) / 2 ** 30).toFixed(2)} GiB`;
  const positions = Number(r.prefillPositions) + Number(r.generatedTokens);
  const ttft = (Number(r.visionEncodeMs) + Number(r.prefillMs)) / 1000;
  const tower =
    values["vision-dtype"] ?? (values.dtype === "q8" || values.dtype === "q4" ? "f16" : values.dtype);
  rows.set(
    [m.label, values.dtype, tower, values["kv-dtype"]].join("|"),
    `| ${m.label} | ${values.dtype} | ${tower} | ${values["kv-dtype"]} | ${r.threads} | ${(Number(r.loadMs) / 1000).toFixed(1)} s | ${(Number(r.visionEncodeMs) / 1000).toFixed(2)} s (${r.imageTokens} tokens) | ${r.prefillTokensPerSecond} (${r.prefillPositions} positions) | ${ttft.toFixed(1)} s | ${r.decodeTokensPerSecond} | ${positions} | ${gib(r.peakRssBytes)} | ${gib(r.peakHeapBytes)} |`,
  );
  process.stderr.write(`${[...rows.values()].pop()}\n`);
}

const title = "Real-size run (imp run on random-weight real-shape checkpoints)";
const docs = join(root, "docs/benchmarks.md");
// Rows of other models or settings stay (rows written before the tower/KV/TTFT/positions columns get them filled:
// f16 tower and f32 KV were the only settings then, TTFT was not recorded).
const kept: string[] = [];
const text = readFileSync(docs, "utf8");
const start = text.indexOf(`## ${title}\n`);
if (start >= 0) {
  const end = text.indexOf("\n## ", start + 4);
  for (const line of text.slice(start, end < 0 ? undefined : end).split("\n")) {
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells.length < 9 || !cells[0]!.startsWith("Imp-")) continue;
    if (cells.length === 9) {
      const prefill = /\((\d+) positions\)/.exec(cells[5]!)?.[1] ?? "—";
      cells.splice(2, 0, "f16", "f32");
      cells.splice(8, 0, "—");
      cells.splice(10, 0, prefill === "—" ? "—" : `${prefill}+`);
    }
    if (rows.has(cells.slice(0, 4).join("|"))) continue; // the same model and settings: measured again
    kept.push(`| ${cells.join(" | ")} |`);
  }
}
const cpu =
  readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.+)/)?.[1] ?? cpus()[0]?.model ?? "unknown";
const table = [
  `Last measured ${new Date().toISOString().slice(0, 10)} on ${cpu} (${cpus().length} cores), Node ${process.version},`,
  "wasm backend (the rows of earlier runs keep their own numbers). Random weights with the real shapes; a",
  "`landscape_rgb.png` image; greedy. TTFT is the vision encode plus the prefill; positions are prompt plus answer",
  "(the KV cache's length at the end). Peak RSS is the whole process; the heap column is the WebAssembly memory's",
  "peak (its limit is 4 GiB).",
  "",
  "| model | weights | tower | KV | threads | load | vision encode | prefill tokens/s | TTFT | decode tokens/s | positions | peak RSS | peak wasm heap |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ...kept,
  ...rows.values(),
  ...(values.note ? ["", values.note] : []),
].join("\n");
replaceSection(docs, title, table);
process.stderr.write(`wrote docs/benchmarks.md\n`);
if (!values.keep) rmSync(work, { recursive: true, force: true });
