/**
 * Whether a model binds: the colour of a named shape among several ("What color is the star?" where one star is in
 * a scene of 2–4 shapes), asked about the held-out val scenes of the world the model was made on, greedy, with the
 * short-answer suffix, exact match. Beside the accuracy, what a model that looks but does not bind gets (a colour of
 * the scene at random), how often the answer is a colour of the scene at all (what looking without binding gets
 * right), accuracy by the number of shapes, and the answers' spread (a model answering from the question alone
 * gives one colour). Quick
 * enough to run at every checkpoint of a warm-up before stage 2 is spent (merge one with `imp merge --adapter
 * RUN/checkpoints/step-N`).
 *
 *   node --import tsx scripts/binding-check.ts --model DIR --world DIR [--questions 120] [--min-objects 2]
 *     [--max-objects 4] [--threads N]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../src/backend/registry.js";
import { positiveInt } from "../src/cli/common.js";
import { ProgressBar } from "../src/eval/progress.js";
import { SHORT_ANSWER_PROMPT } from "../src/eval/tasks.js";
import { ImpPipeline } from "../src/runtime/pipeline.js";
import { colorQ } from "../src/synth/qa.js";
import { rngFor } from "../src/synth/sampling.js";
import { imageName, makeScene, splitSeeds } from "../src/synth/world.js";
import { readWorldManifest, worldSceneOptions } from "../src/synth/write-world.js";
import { helpFromHeader } from "./help.js";

helpFromHeader(import.meta.url);
const { values } = parseArgs({
  options: {
    model: { type: "string" },
    world: { type: "string" },
    questions: { type: "string", default: "120" },
    "min-objects": { type: "string", default: "2" },
    "max-objects": { type: "string", default: "4" },
    threads: { type: "string" },
  },
});
if (!values.model) throw new Error("--model: expected a model folder");
if (!values.world)
  throw new Error("--world: expected the world folder the model was made on (npm run world)");
const wanted = positiveInt("--questions")(values.questions);
const [lo, hi] = [
  positiveInt("--min-objects")(values["min-objects"]),
  positiveInt("--max-objects")(values["max-objects"]),
];
const manifest = readWorldManifest(values.world);
const scenes = worldSceneOptions(values.world, manifest);
const valScenes = manifest.options?.val;
if (!valScenes) throw new Error(`--world: ${values.world}/world.json has no val split`);
/** Its own question stream, apart from the world's records. */
const STREAM = 0x9c02;

const items: {
  seed: number;
  question: string;
  answer: string;
  sceneColours: Set<string>;
  objects: number;
}[] = [];
for (const seed of splitSeeds("val", valScenes)) {
  const s = makeScene(seed, scenes);
  if (s.kind !== "shapes" || s.objects.length < lo || s.objects.length > hi) continue;
  const qa = colorQ(s, rngFor(seed, STREAM));
  if (qa)
    items.push({
      seed,
      question: qa.question,
      answer: qa.answer,
      sceneColours: new Set(s.objects.map((o) => o.color)),
      objects: s.objects.length,
    });
  if (items.length >= wanted) break;
}
if (items.length === 0) throw new Error(`no val scene of ${lo}–${hi} shapes with a uniquely named shape`);

const backend = await createBackend(
  "wasm",
  values.threads ? { threads: positiveInt("--threads")(values.threads) } : {},
);
const imp = await ImpPipeline.load(values.model, { backend });
const bar = new ProgressBar(items.length, "binding check");
const answers = new Map<string, number>();
let right = 0;
let inScene = 0;
/** Per object count: [right, asked]. */
const byCount = new Map<number, [number, number]>();
for (const it of items) {
  const { text } = await imp.generate({
    image: join(values.world, "images", "val", imageName(it.seed)),
    prompt: `${it.question}\n${SHORT_ANSWER_PROMPT}`,
    maxNewTokens: 4,
  });
  const a = text.trim().toLowerCase().replace(/\.$/, "");
  answers.set(a, (answers.get(a) ?? 0) + 1);
  const ok = a === it.answer;
  if (ok) right++;
  if (it.sceneColours.has(a)) inScene++;
  const c = byCount.get(it.objects) ?? [0, 0];
  byCount.set(it.objects, [c[0] + (ok ? 1 : 0), c[1] + 1]);
  bar.tick();
}
bar.finish();
imp.dispose();
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const spread = [...answers].sort((a, b) => b[1] - a[1]);
console.log(
  `${values.model}: ${right} of ${items.length} right (${pct(right / items.length)}); a colour of the scene at random ` +
    `${pct(items.reduce((s, it) => s + 1 / it.sceneColours.size, 0) / items.length)}; answers: ` +
    spread.map(([a, n]) => `${a} ${n}`).join(", "),
);
// A model that looks answers a colour of the scene; one that binds, the named shape's.
console.log(
  `  a colour of the scene ${inScene} of ${items.length} (${pct(inScene / items.length)}); by shapes in the scene: ` +
    [...byCount]
      .sort((a, b) => a[0] - b[0])
      .map(([n, [r, k]]) => `${n}: ${r}/${k} (${pct(r / k)})`)
      .join(", "),
);
process.exit(0);
