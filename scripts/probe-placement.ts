/**
 * Whether the image's place in the prompt decides if the real model learns binding: from one model folder (the
 * built-in model by default), trains LoRA + connector (stage 2's recipe and rates) on one question family, the
 * colour of a named shape ("What color is the star?") in the shapes scenes of a world's train split, with the image
 * placed before the question (every official checkpoint) or after it (`--placement after_text`, written into the
 * copy's config.json as `mm_image_placement`), then scores the held-out val scenes of two to four shapes at every
 * checkpoint: greedy short answers, exact match. Beside it the blind baselines: the most frequent answer, and a
 * colour of the scene picked at random (what a model that looks but does not bind gets). Run it once per placement
 * (the two can run side by side, a thread each); each run resumes where a killed one stopped.
 *
 *   node --import tsx scripts/probe-placement.ts --placement before_text|after_text --world DIR
 *        [--model models/imp-tiny] [--work .tmp/placement] [--steps 400] [--every 100] [--batch 16]
 *        [--lr 1e-3] [--val 300] [--threads N] [--seed 1] [--image-token-loss W]
 *
 * `--image-token-loss W` (question first only) adds the dense image-token signal with weight W: each record carries
 * the named shape's box (`named_boxes`), and a head on the image tokens' final hidden states learns which of them
 * show it, beside the answer (src/train/image-token-head.ts). Its runs go to WORK/PLACEMENT-itlW.
 *
 * Prints a markdown table (docs/builtin-model.md quotes it) and writes it, with the answers, to WORK/PLACEMENT.json.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../src/backend/registry.js";
import { positiveInt } from "../src/cli/common.js";
import { ProgressBar } from "../src/eval/progress.js";
import { SHORT_ANSWER_PROMPT } from "../src/eval/tasks.js";
import { IMAGE_PLACEMENTS, type ImagePlacement } from "../src/io/template/index.js";
import { ImpPipeline } from "../src/runtime/pipeline.js";
import { colorQ, namedBoxes, type Qa } from "../src/synth/qa.js";
import { qaTurns, shortTurn } from "../src/synth/records.js";
import { rngFor } from "../src/synth/sampling.js";
import { imageName, makeScene, splitSeeds } from "../src/synth/world.js";
import { worldSceneOptions } from "../src/synth/write-world.js";
import { mergeAdapter } from "../src/train/merge.js";
import { loadRecipe } from "../src/train/recipe.js";
import { runTraining } from "../src/train/run.js";
import { checkpointsDir } from "../src/train/run-state.js";
import { helpFromHeader } from "./help.js";
import { TINY_MODEL } from "./tiny-paths.js";

helpFromHeader(import.meta.url);
const { values } = parseArgs({
  options: {
    placement: { type: "string" },
    world: { type: "string" },
    model: { type: "string", default: TINY_MODEL },
    work: { type: "string", default: ".tmp/placement" },
    steps: { type: "string", default: "400" },
    every: { type: "string", default: "100" },
    batch: { type: "string", default: "16" },
    lr: { type: "string", default: "1e-3" },
    val: { type: "string", default: "300" },
    threads: { type: "string" },
    seed: { type: "string", default: "1" },
    "image-token-loss": { type: "string", default: "0" },
  },
});

const placement = values.placement as ImagePlacement;
if (!IMAGE_PLACEMENTS.includes(placement))
  throw new Error(`--placement: expected ${IMAGE_PLACEMENTS.join(" or ")}, got ${values.placement}`);
if (!values.world || !existsSync(join(values.world, "world.json")))
  throw new Error(`--world: expected a world folder (npm run world), got ${values.world}`);
const world = resolve(values.world);
const steps = positiveInt("--steps")(values.steps);
const every = positiveInt("--every")(values.every);
const batch = positiveInt("--batch")(values.batch);
const valScenes = positiveInt("--val")(values.val);
const threads = values.threads ? positiveInt("--threads")(values.threads) : undefined;
const imageTokenLoss = Number(values["image-token-loss"]);
if (!(imageTokenLoss >= 0))
  throw new Error(`--image-token-loss: expected a weight ≥ 0, got ${values["image-token-loss"]}`);
if (imageTokenLoss > 0 && placement !== "after_text")
  throw new Error("--image-token-loss needs --placement after_text (the image tokens must see the question)");
const variant = imageTokenLoss > 0 ? `${placement}-itl${imageTokenLoss}` : placement;
const work = resolve(values.work, variant);
mkdirSync(work, { recursive: true });

const manifest = JSON.parse(readFileSync(join(world, "world.json"), "utf8")) as {
  options: { train: number; val: number };
};
const sceneOptions = worldSceneOptions(world);
/** Question streams apart from the world's own records. */
const TRAIN_STREAM = 0x9c01;
const VAL_STREAM = 0x9c02;

/** One colour question per shapes scene of a split (scenes with no uniquely named shape have none). */
function questions(split: "train" | "val", n: number, stream: number, minObjects: number) {
  const out: { seed: number; qa: Qa; colors: string[]; boxes: number[][] }[] = [];
  for (const seed of splitSeeds(split, n)) {
    const scene = makeScene(seed, sceneOptions);
    if (scene.kind !== "shapes" || scene.objects.length < minObjects) continue;
    const qa = colorQ(scene, rngFor(seed, stream));
    if (qa)
      out.push({
        seed,
        qa,
        colors: [...new Set(scene.objects.map((o) => o.color))],
        boxes: namedBoxes(scene, qa) ?? [],
      });
  }
  return out;
}

// The model copy that says where its image goes; every front end (and the trainer) then asks it that way.
const base = join(work, "base");
if (!existsSync(join(base, "config.json"))) {
  cpSync(values.model, base, { recursive: true });
  const cfg = join(base, "config.json");
  const json = JSON.parse(readFileSync(cfg, "utf8")) as Record<string, unknown>;
  writeFileSync(cfg, `${JSON.stringify({ ...json, mm_image_placement: placement }, null, 2)}\n`);
}

const train = questions("train", manifest.options.train, TRAIN_STREAM, 1);
const records = train.map(({ seed, qa, boxes }) => ({
  id: `${seed}-color`,
  image: `train/${imageName(seed)}`,
  conversations: qaTurns([shortTurn(qa)]),
  ...(imageTokenLoss > 0 ? { named_boxes: boxes } : {}),
}));
writeFileSync(join(work, "color.json"), `${JSON.stringify(records)}\n`);
writeFileSync(
  join(work, "color.yaml"),
  `seed: 1\nimages: ${join(world, "images")}\nsources:\n  - { name: color, path: ${join(work, "color.json")}, weight: 1 }\n`,
);
const run = join(work, "run");
const recipe = loadRecipe("recipes/imp-stage2-lora.json", [
  `base=${base}`,
  `data=${join(work, "color.yaml")}`,
  `output=${run}`,
  "connector_init=base",
  `max_steps=${steps}`,
  `global_batch=${batch}`,
  `lr=${values.lr}`,
  "connector_lr=5e-4",
  "lora.rank=32",
  "lora.alpha=64",
  "lora.dropout=0.05",
  "group_by_modality_length=false",
  "validate_images=false",
  "base_dtype=f32",
  "max_length=512",
  `seed=${values.seed}`,
  `image_token_loss=${imageTokenLoss}`,
  `save_every=${every}`,
  `keep_checkpoints=${Math.ceil(steps / every) + 1}`,
  ...(threads ? [`threads=${threads}`] : []),
]);
console.error(`${variant}: ${records.length} colour questions from ${manifest.options.train} train scenes`);
await runTraining(recipe, { resume: true });

// Held-out: scenes of two to four shapes, where the named shape must be found among others.
const val = questions("val", Math.min(valScenes * 3, manifest.options.val), VAL_STREAM, 2).slice(
  0,
  valScenes,
);
const freq = new Map<string, number>();
for (const v of val) freq.set(v.qa.answer, (freq.get(v.qa.answer) ?? 0) + 1);
const constant = Math.max(...freq.values()) / val.length;
const randomPresent = val.reduce((s, v) => s + 1 / v.colors.length, 0) / val.length;

const backend = await createBackend("wasm", { threads });
async function score(folder: string) {
  const pipe = await ImpPipeline.load(folder, { backend });
  const answers: string[] = [];
  let right = 0;
  for (const v of val) {
    const { text } = await pipe.generate({
      image: join(world, "images", "val", imageName(v.seed)),
      prompt: `${v.qa.question}\n${SHORT_ANSWER_PROMPT}`,
      maxNewTokens: 4,
    });
    const a = text.trim().toLowerCase().replace(/\.$/, "");
    answers.push(a);
    if (a === v.qa.answer) right++;
    bar.tick();
  }
  pipe.model.dispose();
  return { accuracy: right / val.length, answers };
}

const checkpoints = readdirSync(checkpointsDir(run))
  .filter((d) => /^step-\d+$/.test(d))
  .sort();
const bar = new ProgressBar(val.length * (checkpoints.length + 1), `${variant}: scoring`);
const rows: { step: number; accuracy: number; answers: string[] }[] = [];
rows.push({ step: 0, ...(await score(base)) });
for (const c of checkpoints) {
  const merged = join(work, `merged-${c}`);
  if (!existsSync(join(merged, "config.json")))
    mergeAdapter({ base, adapter: join(checkpointsDir(run), c), out: merged, backend });
  rows.push({ step: Number(c.slice(5)), ...(await score(merged)) });
}
bar.finish();

const pct = (x: number) => (100 * x).toFixed(1);
const table = [
  `Colour of a named shape among 2–4, ${val.length} held-out val scenes, image ${placement === "after_text" ? "after" : "before"} the question${imageTokenLoss > 0 ? `, dense image-token signal weight ${imageTokenLoss}` : ""} (${records.length} training questions, batch ${batch}, lr ${values.lr}, seed ${values.seed}):`,
  "",
  "| step | accuracy % |",
  "| ---: | ---: |",
  ...rows.map((r) => `| ${r.step} | ${pct(r.accuracy)} |`),
  "",
  `Blind baselines: the most frequent answer ${pct(constant)} %, a colour of the scene at random ${pct(randomPresent)} %.`,
].join("\n");
console.log(table);
const result = {
  placement,
  imageTokenLoss,
  steps,
  batch,
  lr: Number(values.lr),
  seed: Number(values.seed),
  trainQuestions: records.length,
  val: val.map((v) => ({ seed: v.seed, question: v.qa.question, answer: v.qa.answer })),
  baselines: { constant, randomPresent },
  rows,
};
const file = join(resolve(values.work), `${variant}.json`);
writeFileSync(`${file}.tmp`, `${JSON.stringify(result)}\n`);
renameSync(`${file}.tmp`, file);
