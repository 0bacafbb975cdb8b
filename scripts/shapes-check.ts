/**
 * The built-in model on shapes drawn by other code than its world (scripts/shapes-check/draw.ts: its own outlines,
 * supersampled anti-aliasing, outlines, colours jittered by ±15 per channel, other plain backgrounds, shapes
 * anywhere, images of 128–192 px): the six question kinds of scripts/shapes-check/sets.ts, greedy, with the
 * short-answer suffix, scored by exact match after VQA's official answer normalisation (existence as POPE's F1 of
 * "yes"). Beside each score its blind baseline (the most frequent answer; for existence, always "yes") and the
 * model's most frequent answer, so an answer given whatever the image shows is seen at once.
 *
 *   node --import tsx scripts/shapes-check.ts [--model models/imp-tiny] [--per-set 100] [--seed 1] [--threads N]
 *        [--images DIR]   (also write the images and questions there, to look at or to ask another model)
 *
 * Prints a markdown table (docs/builtin-model.md quotes it).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { encode } from "fast-png";
import { ProgressBar } from "../src/eval/progress.js";
import { SHORT_ANSWER_PROMPT } from "../src/eval/tasks.js";
import { evalAiProcess } from "../src/eval/vqa-normalize.js";
import { ImpPipeline } from "../src/runtime/pipeline.js";
import { helpFromHeader } from "./help.js";
import { drawShapes } from "./shapes-check/draw.js";
import { CHECK_SETS, type CheckSet, checkItems } from "./shapes-check/sets.js";
import { TINY_MODEL } from "./tiny-paths.js";

helpFromHeader(import.meta.url);
const { values } = parseArgs({
  options: {
    model: { type: "string", default: TINY_MODEL },
    "per-set": { type: "string", default: "100" },
    seed: { type: "string", default: "1" },
    threads: { type: "string" },
    images: { type: "string" },
  },
});
const perSet = Number(values["per-set"]);
if (!Number.isInteger(perSet) || perSet < 2)
  throw new Error(`--per-set: expected an integer ≥ 2, got ${values["per-set"]}`);
const seed = Number(values.seed);
if (!Number.isInteger(seed)) throw new Error(`--seed: expected an integer, got ${values.seed}`);

const items = checkItems(perSet, seed);
const pipe = await ImpPipeline.load(values.model, {
  threads: values.threads ? Number(values.threads) : undefined,
});
if (values.images) mkdirSync(values.images, { recursive: true });
const bar = new ProgressBar(items.length, "shapes check");
const answers = new Map<CheckSet, { truth: string; said: string }[]>(CHECK_SETS.map((s) => [s, []]));
for (const item of items) {
  const image = drawShapes(item.spec);
  if (values.images)
    writeFileSync(
      join(values.images, `${item.id}.png`),
      encode({ width: image.width, height: image.height, data: image.data, channels: 3 }),
    );
  const { text } = await pipe.generate({
    image,
    prompt: `${item.question}\n${SHORT_ANSWER_PROMPT}`,
    maxNewTokens: 6,
  });
  answers.get(item.set)!.push({ truth: item.answer, said: evalAiProcess(text) });
  bar.tick();
}
bar.finish();
if (values.images)
  writeFileSync(
    join(values.images, "questions.json"),
    `${JSON.stringify(
      items.map(({ id, set, question, answer }) => ({ id, set, question, answer, image: `${id}.png` })),
      null,
      1,
    )}\n`,
  );

const mostFrequent = (xs: readonly string[]) => {
  const n = new Map<string, number>();
  for (const x of xs) n.set(x, (n.get(x) ?? 0) + 1);
  return [...n.entries()].sort((a, b) => b[1] - a[1])[0]!;
};
/** POPE's F1 of "yes" (the answer counts as yes when it starts with it, as POPE's scorer reads it). */
function f1(rows: readonly { truth: string; said: string }[], said: (r: { said: string }) => boolean) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const r of rows) {
    const yes = said(r);
    if (yes && r.truth === "yes") tp++;
    else if (yes) fp++;
    else if (r.truth === "yes") fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

const lines = [
  `Shapes drawn by other code than the world (scripts/shapes-check.ts, ${perSet} questions a kind, seed ${seed}), ${values.model}, greedy, short-answer suffix:`,
  "",
  "| question | metric | score | blind baseline | its most frequent answer |",
  "| --- | --- | ---: | ---: | --- |",
];
for (const set of CHECK_SETS) {
  const rows = answers.get(set)!;
  const [said, n] = mostFrequent(rows.map((r) => r.said));
  const share = `"${said}" (${n} of ${rows.length})`;
  if (set === "exists (adversarial)") {
    const model = f1(rows, (r) => r.said.startsWith("yes"));
    const blind = f1(rows, () => true);
    lines.push(`| ${set} | F1 | ${model.toFixed(3)} | ${blind.toFixed(3)} | ${share} |`);
  } else {
    const right = rows.filter((r) => r.said === evalAiProcess(r.truth)).length;
    const [, top] = mostFrequent(rows.map((r) => r.truth));
    lines.push(
      `| ${set} | accuracy % | ${((100 * right) / rows.length).toFixed(1)} | ${((100 * top) / rows.length).toFixed(1)} | ${share} |`,
    );
  }
}
console.log(lines.join("\n"));
