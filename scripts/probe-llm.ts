/**
 * Whether a model trained on the generated world answers from what it is given, or from priors: short questions
 * about scenes of several shapes (colour of a shape, shape of a colour, a colour-and-shape count, existence, a
 * count), each asked twice — once with the scene told in words in the user turn and no image (in-context
 * retrieval: the LLM alone), once with the image and no words (what Imp is for). Each answer is the pool answer
 * (the ten colours, the eight shapes, 0–6, yes/no) whose first token the model scores highest after the prompt, so
 * the wording of the answer does not count; the best constant answer of each family is printed beside it (an LLM
 * answering from priors scores at most that). A model (or an LM base) at the constant's level from a description
 * has not learnt to take answers from its context. The scenes are those of --world (a world folder), else of the
 * world.json in the model folder. Prints a markdown table (docs/builtin-model.md quotes it).
 *
 *   node --import tsx scripts/probe-llm.ts [--model models/imp-tiny] [--world DIR] [--scenes 300] [--threads N]
 */
import { parseArgs } from "node:util";
import { ProgressBar } from "../src/eval/progress.js";
import { SHORT_ANSWER_PROMPT } from "../src/eval/tasks.js";
import { ImpPipeline } from "../src/runtime/pipeline.js";
import { describe } from "../src/synth/describe.js";
import { boundCountQ, colorQ, countQ, existQ, type Family, type Qa, shapeQ } from "../src/synth/qa.js";
import { renderScene } from "../src/synth/render.js";
import { rngFor } from "../src/synth/sampling.js";
import { makeScene, splitSeeds } from "../src/synth/world.js";
import { keep, tidy } from "../src/tensor/scope.js";
import type { Tensor } from "../src/tensor/tensor.js";
import { helpFromHeader } from "./help.js";
import { modelSceneOptions, TINY_MODEL } from "./tiny-paths.js";

helpFromHeader(import.meta.url);
const { values } = parseArgs({
  options: {
    model: { type: "string", default: TINY_MODEL },
    world: { type: "string" },
    scenes: { type: "string", default: "300" },
    threads: { type: "string" },
  },
});
const wanted = Number(values.scenes);
if (!Number.isInteger(wanted) || wanted < 10)
  throw new Error(`--scenes: expected an integer ≥ 10, got ${values.scenes}`);

const pipe = await ImpPipeline.load(values.model, {
  dtype: "f32",
  threads: values.threads ? Number(values.threads) : undefined,
});
const { model, tokenizer } = pipe;
const sceneOptions = modelSceneOptions(values.model, values.world);
const hasImage = model.vision !== null && pipe.imageSpec !== null;

const FAMILIES: readonly [string, Family][] = [
  ["colour of the {shape}", colorQ],
  ["shape of the {colour} shape", shapeQ],
  ["how many {colour} {shapes}", boundCountQ],
  ["is there a …", existQ],
  ["how many {shapes} / shapes", countQ],
];
/** A validation seed stream apart from the records' own questions. */
const PROBE_STREAM = 0x9b0e;

interface Tally {
  questions: number;
  text: number;
  image: number;
  answers: Map<string, number>;
}
const tallies = new Map<string, Tally>(
  FAMILIES.map(([name]) => [name, { questions: 0, text: 0, image: 0, answers: new Map() }]),
);

/** The pool answer whose first token scores highest after `ids` (with the image's embeddings when given). */
function pickAnswer(ids: readonly number[], image: Tensor | null, qa: Qa): string {
  return tidy(() => {
    const embeds = image ? model.embed(ids, [image]) : model.embedTokens(ids);
    const hidden = model.forward(embeds);
    const last = model.logits(hidden.slice(0, hidden.dim(0) - 1, hidden.dim(0))).toF32();
    const firsts = firstTokens(qa.pool);
    let best = 0;
    for (let i = 1; i < firsts.length; i++) if (last[firsts[i]!]! > last[firsts[best]!]!) best = i;
    return qa.pool[best]!;
  });
}

/** Each answer's first token, per pool (the pools are a few shared lists); it must tell the answer from the rest. */
const poolTokens = new Map<readonly string[], number[]>();
function firstTokens(pool: readonly string[]): number[] {
  let firsts = poolTokens.get(pool);
  if (!firsts) {
    firsts = pool.map((a) => tokenizer.encode(a)[0]!);
    firsts.forEach((t, i) => {
      const j = firsts!.indexOf(t);
      if (j !== i)
        throw new Error(
          `${values.model}: the answers "${pool[j]}" and "${pool[i]}" start with the same token`,
        );
    });
    poolTokens.set(pool, firsts);
  }
  return firsts;
}

const bar = new ProgressBar(wanted, "probe questions");
let scenes = 0;
for (const seed of splitSeeds("val", 100_000)) {
  if (scenes >= wanted) break;
  const scene = makeScene(seed, sceneOptions);
  if (scene.kind !== "shapes" || scene.objects.length < 2) continue;
  scenes++;
  const rng = rngFor(scene.id, PROBE_STREAM);
  const words = describe(scene, rng);
  // The image's embeddings, once per scene (every question about it reuses them).
  let image: Tensor | null = null;
  if (hasImage) {
    const pixels = await pipe.prepareImage(renderScene(scene));
    image = keep(tidy(() => model.encodeImage(pixels).embeds));
    pixels.dispose();
  }
  for (const [name, family] of FAMILIES) {
    const qa = family(scene, rng);
    if (!qa) continue;
    const t = tallies.get(name)!;
    t.questions++;
    t.answers.set(qa.answer, (t.answers.get(qa.answer) ?? 0) + 1);
    const question = `${qa.question}\n${SHORT_ANSWER_PROMPT}`;
    const textIds = pipe.promptIds({ prompt: `${words}\n${question}` }, false).ids;
    if (pickAnswer(textIds, null, qa) === qa.answer) t.text++;
    if (image) {
      const imageIds = pipe.promptIds({ prompt: question }, true).ids;
      if (pickAnswer(imageIds, image, qa) === qa.answer) t.image++;
    }
  }
  image?.dispose();
  bar.tick();
}
bar.finish();

const pct = (n: number, d: number) => (d === 0 ? "–" : `${((100 * n) / d).toFixed(1)} %`);
process.stdout.write(
  `${values.model}: ${scenes} validation scenes of 2–6 shapes\n\n` +
    "| question | asked | from a description (no image) | from the image | best constant answer |\n" +
    "| --- | ---: | ---: | ---: | --- |\n",
);
for (const [name, t] of tallies) {
  const [prior, n] = [...t.answers].sort((a, b) => b[1] - a[1])[0] ?? ["–", 0];
  process.stdout.write(
    `| ${name} | ${t.questions} | ${pct(t.text, t.questions)} | ${hasImage ? pct(t.image, t.questions) : "–"} | "${prior}" ${pct(n, t.questions)} |\n`,
  );
}
pipe.model.dispose();
process.exit(0);
