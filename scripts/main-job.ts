/**
 * The README's main job, measured: "How many red circles are there?" about examples/shapes.png (true answer 2) and
 * about the first test scenes of shapes of a train:tiny world, greedy, as `imp run` asks it (long answer) and with
 * the short-answer suffix. Prints how often each is right and the short answers against the truth, so a count that
 * comes from a prior (the same answer for every scene) shows.
 *
 *   node --import tsx scripts/main-job.ts [--model models/imp-tiny] [--world .cache/train-tiny/world] [--scenes 100]
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ImpPipeline } from "../src/runtime/pipeline.js";
import { numberWord } from "../src/synth/language.js";
import { SHORT_PROMPT } from "../src/synth/records.js";
import { imageName, makeScene, splitSeeds } from "../src/synth/world.js";
import { worldSceneOptions } from "../src/synth/write-world.js";
import { helpFromHeader } from "./help.js";
import { MODEL_AND_WORLD } from "./tiny-paths.js";

helpFromHeader(import.meta.url);
const { values } = parseArgs({
  options: {
    ...MODEL_AND_WORLD,
    scenes: { type: "string", default: "100" },
  },
});
const want = Number(values.scenes);
if (!Number.isInteger(want) || want < 1)
  throw new Error(`--scenes: expected a positive integer, got ${values.scenes}`);
const images = join(values.world, "eval", "test", "vqav2", "test2015");
if (!existsSync(images))
  throw new Error(`${images}: no test images; --world is train:tiny's work folder's world`);

const sceneOptions = worldSceneOptions(values.world);

const QUESTION = "How many red circles are there?";
const imp = await ImpPipeline.load(values.model, { backend: "wasm" });
const ask = async (image: string, prompt: string) =>
  (await imp.generate({ image, prompt, maxNewTokens: 16, sampling: { temperature: 0 } })).text.trim();
/** A long answer is right when it names the true count, as a digit or a word ("no" for 0). */
const names = (text: string, n: number) =>
  new RegExp(`\\b(${n}|${n === 0 ? "no" : numberWord(n)})\\b`, "i").test(text);

console.log(`examples/shapes.png (2): ${JSON.stringify(await ask("examples/shapes.png", QUESTION))}`);
let scenes = 0;
let long = 0;
let short = 0;
const pairs = new Map<string, number>();
for (const seed of splitSeeds("test", 100_000)) {
  if (scenes >= want) break;
  const scene = makeScene(seed, sceneOptions);
  const image = join(images, imageName(seed));
  if (scene.kind !== "shapes" || !existsSync(image)) continue;
  const truth = scene.objects.filter((o) => o.color === "red" && o.shape === "circle").length;
  const a = await ask(image, QUESTION);
  const b = await ask(image, `${QUESTION}\n${SHORT_PROMPT}`);
  if (names(a, truth)) long++;
  if (b === String(truth)) short++;
  pairs.set(`${truth} → ${b}`, (pairs.get(`${truth} → ${b}`) ?? 0) + 1);
  if (scenes < 5) console.log(`${imageName(seed)} (${truth}): ${JSON.stringify(a)} / ${JSON.stringify(b)}`);
  scenes++;
}
imp.model.dispose();
console.log(`${scenes} test scenes of shapes: long answer right ${long}, short answer right ${short}`);
console.log(
  `short answers (truth → answer): ${[...pairs]
    .sort()
    .map(([k, v]) => `${k} ×${v}`)
    .join(", ")}`,
);
