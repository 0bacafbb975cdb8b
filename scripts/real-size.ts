/**
 * The real-size run (not a test): writes random-weight checkpoints with the real shapes and layout of
 * Imp-v1.5-3B-Phi2 and Imp-v1.5-2B-Qwen1.5 (bf16, sharded, with real tokenizer vocabularies) into a temporary
 * folder, then runs `imp run --dtype q4 --json` on each in a fresh process with an image, and records load time,
 * vision encode time (729 tokens), prefill and decode tokens/s and peak RSS in docs/benchmarks.md.
 *
 *   node --import tsx scripts/real-size.ts [--models phi2,qwen] [--dtype q4] [--keep DIR] [--max-tokens 32]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PRESETS } from "../src/models/presets.js";
import { writeRandomCheckpoint } from "../src/models/random.js";
import { writeTokenizerFiles } from "../src/testing/tokenizer-reference.js";
import { replaceSection } from "./docs-section.js";

const { values } = parseArgs({
  options: {
    models: { type: "string", default: "phi2,qwen" },
    dtype: { type: "string", default: "q4" },
    keep: { type: "string" },
    "max-tokens": { type: "string", default: "32" },
    threads: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(
    "node --import tsx scripts/real-size.ts [--models phi2,qwen] [--dtype q4] [--keep DIR] [--max-tokens 32] [--threads N]\n" +
      "Writes random-weight bf16 checkpoints with the real shapes of Imp-v1.5-3B-Phi2 / 2B-Qwen1.5 (about 6 and 4 GiB),\n" +
      "runs `imp run --json` on each and records the numbers in docs/benchmarks.md; --keep DIR keeps the checkpoints.\n",
  );
  process.exit(0);
}

const root = new URL("..", import.meta.url).pathname;
const work = values.keep ?? mkdtempSync(join(tmpdir(), "imp-real-size-"));
mkdirSync(work, { recursive: true });
const models = {
  phi2: { preset: "imp-v1.5-3b-phi2", label: "Imp-v1.5-3B-Phi2 (SigLIP-SO400M-384 + Phi-2)" },
  qwen: { preset: "imp-v1.5-2b-qwen1.5", label: "Imp-v1.5-2B-Qwen1.5 (SigLIP-SO400M-384 + Qwen1.5-1.8B)" },
} as const;

const rows: string[] = [];
const image = join(root, "../shared/fixtures/preprocess/landscape_rgb.png");
for (const kind of values.models.split(",") as Array<keyof typeof models>) {
  const m = models[kind];
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
  process.stderr.write(`running imp run --dtype ${values.dtype} on ${m.preset} …\n`);
  const args = [
    "--import",
    "tsx",
    join(root, "src/cli/main.ts"),
    "run",
    "--model",
    dir,
    "--dtype",
    values.dtype,
    "--image",
    image,
    "--max-tokens",
    values["max-tokens"],
    "--json",
    ...(values.threads ? ["--threads", values.threads] : []),
    "Describe this image in detail.",
  ];
  const out = execFileSync(process.execPath, args, {
    encoding: "utf8",
    maxBuffer: 1 << 26,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const r = JSON.parse(out) as Record<string, number | string | null>;
  const gib = (x: unknown) => `${(Number(x) / 2 ** 30).toFixed(2)} GiB`;
  rows.push(
    `| ${m.label} | ${values.dtype} | ${r.threads} | ${(Number(r.loadMs) / 1000).toFixed(1)} s | ${(Number(r.visionEncodeMs) / 1000).toFixed(2)} s (${r.imageTokens} tokens) | ${r.prefillTokensPerSecond} (${r.prefillPositions} positions) | ${r.decodeTokensPerSecond} | ${gib(r.peakRssBytes)} | ${gib(r.peakHeapBytes)} |`,
  );
  process.stderr.write(`${rows[rows.length - 1]}\n`);
}

const cpu =
  readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.+)/)?.[1] ?? cpus()[0]?.model ?? "unknown";
const table = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpu} (${cpus().length} cores), Node ${process.version}, `,
  `wasm backend. Random weights with the real shapes; a ${"`"}landscape_rgb.png${"`"} image; greedy; the prompt is the `,
  "model's template around one question. Peak RSS is the whole process; the heap column is the WebAssembly memory's peak.",
  "",
  "| model | weights | threads | load | vision encode | prefill tokens/s | decode tokens/s | peak RSS | peak wasm heap |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ...rows,
].join("\n");
replaceSection(
  join(root, "docs/benchmarks.md"),
  "Real-size run (imp run on random-weight real-shape checkpoints)",
  table,
);
process.stderr.write(`wrote docs/benchmarks.md\n`);
if (!values.keep) rmSync(work, { recursive: true, force: true });
