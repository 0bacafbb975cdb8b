/**
 * Scores the built-in model on the held-out test sets of the generated world with the same runner and scorers as
 * real benchmarks (`imp eval run` / `imp eval score`), and writes docs/builtin-model.md: the numbers per category
 * against the targets, example images with questions and answers, and how the model was made. --world is
 * train:tiny's work folder's world; --page writes another page instead (its example images beside it, in a folder
 * named after it), so a candidate model is scored without touching the committed page.
 *
 *   node --import tsx scripts/eval-tiny.ts [--model models/imp-tiny] [--world .cache/train-tiny/world]
 *     [--page docs/builtin-model.md] [--out .cache/eval-tiny] [--limit N] [--threads N]
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { BenchmarkName } from "../src/eval/benchmarks.js";
import { showKey } from "../src/eval/files.js";
import { createLocalAnswerer } from "../src/eval/local-answerer.js";
import { runEval } from "../src/eval/runner.js";
import { readVqaAnnotations, readVqaResults, vqaAccuracy } from "../src/eval/vqav2.js";
import { ImpPipeline } from "../src/runtime/pipeline.js";
import { makeScene } from "../src/synth/world.js";
import { readWorldManifest, worldSceneOptions } from "../src/synth/write-world.js";
import { replaceSection } from "./docs-section.js";
import { helpFromHeader } from "./help.js";
import { MODEL_AND_WORLD } from "./tiny-paths.js";

helpFromHeader(import.meta.url);
const { values } = parseArgs({
  options: {
    ...MODEL_AND_WORLD,
    page: { type: "string", default: "docs/builtin-model.md" },
    out: { type: "string", default: ".cache/eval-tiny" },
    limit: { type: "string" },
    threads: { type: "string" },
  },
});
if (!values.page.endsWith(".md"))
  throw new Error(`--page: expected a markdown file (.md), got ${values.page}`);
const page = values.page;
// The example images go beside the page, in a folder named after it (docs/builtin-model.md → docs/builtin-model/).
const imagesName = basename(page, ".md");
const model = resolve(values.model);
const test = join(resolve(values.world), "eval", "test");
const world = readWorldManifest(values.world);
const sceneOptions = worldSceneOptions(values.world, world);
const opts = { backend: "wasm" as const, threads: values.threads ? Number(values.threads) : undefined };
const answerer = await createLocalAnswerer(model, opts);

interface Row {
  category: string;
  set: string;
  metric: string;
  value: number;
  target: number | null;
}
const rows: Row[] = [];
async function run(bench: BenchmarkName, folder: string): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const summary = await runEval({
    benchmark: bench,
    data: join(test, folder),
    out: join(values.out, `${folder}.jsonl`),
    answerer,
    source: model,
    progress: process.stderr,
    limit: values.limit ? Number(values.limit) : undefined,
  });
  process.stderr.write(
    `${folder}: ${JSON.stringify(summary.headline)} in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
  );
  if (!summary.score) throw new Error(`${folder}: no score (${summary.score_note})`);
  return summary.score;
}

const pct = (x: unknown) => Number(x);
const vqa = await run("vqav2", "vqav2");
rows.push({
  category: "short answers (colour, shape, count, position)",
  set: "VQAv2-style",
  metric: "accuracy %",
  value: pct(vqa.overall),
  target: 85,
});
// VQAv2-style accuracy per question type (the annotations' question_type, as the scorer groups them), over all
// scenes and split by how many shapes the scene holds: with one shape, "What color is the hexagon?" needs no
// shape to find the hexagon, so the split tells reading an attribute apart from finding the object.
const byType = new Map<string, { n: number[]; sum: number[] }>();
{
  const preds = readVqaResults(join(values.out, "vqav2.results.json"));
  for (const a of readVqaAnnotations(join(test, "vqav2", "annotations.json"))) {
    const p = preds.get(a.key);
    if (p === undefined) continue;
    // Question ids are the scene's seed × 10 + the question's index (src/synth/testsets.ts).
    const qid = Number(showKey(a.key));
    if (!Number.isInteger(qid))
      throw new Error(`vqav2 annotations: question_id ${showKey(a.key)} is not a world id`);
    const several = makeScene(Math.floor(qid / 10), sceneOptions).objects.length > 1 ? 1 : 0;
    const t = byType.get(a.questionType) ?? { n: [0, 0], sum: [0, 0] };
    t.n[several]! += 1;
    t.sum[several]! += vqaAccuracy(a, p);
    byType.set(a.questionType, t);
  }
}
const gqa = await run("gqa", "gqa");
rows.push({
  category: "short answers",
  set: "GQA-style",
  metric: "accuracy %",
  value: pct(gqa.accuracy),
  target: 85,
});
const pope = await run("pope", "pope");
for (const split of ["random", "popular", "adversarial"])
  rows.push({
    category: `existence (POPE ${split})`,
    set: "POPE-style",
    metric: "F1",
    value: pct((pope.f1 as Record<string, number>)[split]),
    target: 0.9,
  });
const text = await run("textvqa", "textvqa");
rows.push({
  category: "reading text",
  set: "TextVQA-style",
  metric: "accuracy %",
  value: pct(text.accuracy),
  target: 80,
});
const chart = await run("textvqa", "chartqa");
rows.push({
  category: "charts",
  set: "ChartQA-style (TextVQA scoring)",
  metric: "accuracy %",
  value: pct(chart.accuracy),
  target: 70,
});
const mmb = await run("mmbench", "mmbench");
rows.push({
  category: "multiple choice",
  set: "MMBench-style, circular",
  metric: "accuracy %",
  value: 100 * pct(mmb.circular_accuracy),
  target: 90,
});
const sqa = await run("scienceqa", "scienceqa");
rows.push({
  category: "multiple choice",
  set: "ScienceQA-IMG-style",
  metric: "accuracy %",
  value: pct(sqa.img_accuracy),
  target: 90,
});
await answerer.close?.();

// Examples: a few test images with questions asked live.
const imp = await ImpPipeline.load(model, opts);
const docImages = resolve(dirname(page), imagesName);
mkdirSync(docImages, { recursive: true });
const vqaQ = readFileSync(join(test, "vqav2", "llava_vqav2_mscoco_test-dev2015.jsonl"), "utf8")
  .trim()
  .split("\n");
const textQ = readFileSync(join(test, "textvqa", "llava_textvqa_val_v051_ocr.jsonl"), "utf8")
  .trim()
  .split("\n");
const chartQ = readFileSync(join(test, "chartqa", "llava_textvqa_val_v051_ocr.jsonl"), "utf8")
  .trim()
  .split("\n");
const picks: Array<{ folder: string; images: string; line: string }> = [
  ...vqaQ.slice(0, 3).map((line) => ({ folder: "vqav2", images: "test2015", line })),
  ...textQ.slice(0, 2).map((line) => ({ folder: "textvqa", images: "train_images", line })),
  ...chartQ.slice(0, 2).map((line) => ({ folder: "chartqa", images: "train_images", line })),
];
// The true answers: VQAv2's annotations by question id; TextVQA's by (image id, question), the key LLaVA's
// TextVQA files use (their `question_id` is the image id).
const truth = new Map<string, string>();
for (const a of (
  JSON.parse(readFileSync(join(test, "vqav2", "annotations.json"), "utf8")) as {
    annotations: Array<{ question_id: number; multiple_choice_answer: string }>;
  }
).annotations)
  truth.set(String(a.question_id), a.multiple_choice_answer);
for (const folder of ["textvqa", "chartqa"])
  for (const d of (
    JSON.parse(readFileSync(join(test, folder, "TextVQA_0.5.1_val.json"), "utf8")) as {
      data: Array<{ image_id: string; question: string; answers: string[] }>;
    }
  ).data)
    truth.set(`${d.image_id}|${d.question.toLowerCase()}`, d.answers[0]!);
const examples: string[] = [];
for (const p of picks) {
  const q = JSON.parse(p.line) as { question_id: number | string; image: string; text: string };
  const src = join(test, p.folder, p.images, q.image);
  copyFileSync(src, join(docImages, q.image));
  const question = q.text.split("\n")[0]!;
  const { text: answer } = await imp.generate({ image: src, prompt: q.text, maxNewTokens: 16 });
  examples.push(
    `| ![](${encodeURI(imagesName)}/${q.image}) | ${question} | ${answer.trim()} | ${truth.get(String(q.question_id)) ?? truth.get(`${q.question_id}|${question.toLowerCase()}`) ?? "?"} |`,
  );
}
const detailImage = join(docImages, JSON.parse(picks[0]!.line).image as string);
const { text: description } = await imp.generate({
  image: detailImage,
  prompt: "Describe the image in detail.",
  maxNewTokens: 80,
});
imp.dispose();

const fmt = (r: Row) => (r.metric === "F1" ? r.value.toFixed(3) : r.value.toFixed(1));
const ok = (r: Row) =>
  r.target === null
    ? ""
    : r.value >= r.target
      ? "met"
      : `missed by ${r.metric === "F1" ? (r.target - r.value).toFixed(3) : (r.target - r.value).toFixed(1)}`;
const intro = `# The built-in model

\`models/imp-tiny\` is a small Imp made end to end by imp-ts with the Imp recipe, on a generated world of shapes,
signs and charts (\`src/synth\`): a SigLIP-architecture vision tower pretrained with the sigmoid contrastive loss
(its text tower dropped), a Qwen2-architecture LLM pretrained on the world's text corpus with a BPE tokenizer
trained on it, then stage 1 (connector only, captions) and stage 2 (LoRA + connector on the data mix) through
\`imp train\` and the shipped recipes with scaled-down overrides, merged. It is saved in the Imp-v1.5 layout
(\`config.json\` with \`model_type: imp_qwen2\`, \`model.safetensors\` in f16, tokenizer files) and is the default model
of \`imp run\`, \`imp serve\` and \`imp eval run\`. \`npm run train:tiny\` makes it again from scratch
(\`src/builtin/plan.ts\` holds the plan: sizes, steps, learning rates); \`node --import tsx scripts/eval-tiny.ts\`
writes this page.
`;
// The page's measured sections are replaced; the rest (the intro on first write, hand-written analysis) is kept.
if (!existsSync(page)) writeFileSync(page, intro);
replaceSection(
  page,
  "Scores on the held-out test sets",
  `Test scenes are disjoint from the training scenes; each set is written in its benchmark's official format and
scored by \`imp eval score\`'s scorers (the same code as for the real benchmarks); greedy decoding with the
benchmark's official prompt suffix. ${values.limit ? `Only the first ${values.limit} questions of each set.` : ""}

| category | set | metric | score | target | |
| --- | --- | --- | ---: | ---: | --- |
${rows.map((r) => `| ${r.category} | ${r.set} | ${r.metric} | ${fmt(r)} | ${r.target ?? ""} | ${ok(r)} |`).join("\n")}`,
);
const cell = (n: number, sum: number) => (n ? `${((100 * sum) / n).toFixed(1)} (${n})` : "");
replaceSection(
  page,
  "Short answers by question type",
  `VQAv2-style accuracy % (questions) per question type, over all test scenes and split by how many shapes the
scene holds; with one shape, finding the object the question names needs neither its shape nor its colour.

| question type | all scenes | one shape | several shapes |
| --- | ---: | ---: | ---: |
${[...byType]
  .sort((a, b) => b[1].n[0]! + b[1].n[1]! - a[1].n[0]! - a[1].n[1]!)
  .map(
    ([type, t]) =>
      `| ${type} | ${cell(t.n[0]! + t.n[1]!, t.sum[0]! + t.sum[1]!)} | ${cell(t.n[0]!, t.sum[0]!)} | ${cell(t.n[1]!, t.sum[1]!)} |`,
  )
  .join("\n")}`,
  "What falls short, and why",
);
replaceSection(
  page,
  "Examples (test images, answers as the model gives them)",
  `| image | question | answer | true answer |
| --- | --- | --- | --- |
${examples.join("\n")}

"Describe the image in detail." on the first image: ${description.trim()}`,
);
replaceSection(
  page,
  "Test-set sizes",
  `\`\`\`json
${JSON.stringify(world.eval ?? {}, null, 2)}
\`\`\``,
);

process.stderr.write(`wrote ${page}\n`);
process.exit(0);
