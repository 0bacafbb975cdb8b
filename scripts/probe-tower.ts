/**
 * What the built-in model's vision tower sees: linear probes on its frozen features. Scenes of the world's train
 * split with --objects shapes (one by default) are run through the tower; a softmax regression predicts each
 * shape's colour and its kind from (a) the patch token under the shape's centre and (b) the max- and mean-pooled
 * tokens (lone shapes only: with several, the pool holds them all), trained on 75 % of the samples and scored on the
 * rest. With several shapes the token probe says whether a token holds its own shape apart from its neighbours',
 * which binding a question's noun to one of them needs. Then how loud the connector's output is under the shape and on the
 * background (a row norm each): the LLM reads those rows beside text embeddings of norm below 1. Prints a
 * markdown table (docs/builtin-model.md quotes it). The scenes are those of --world (a world folder), else of the
 * world.json in the model folder.
 *
 *   node --import tsx scripts/probe-tower.ts [--model models/imp-tiny] [--world DIR] [--scenes 1000] [--objects 1|2-4]
 *     [--threads N]
 */
import { parseArgs } from "node:util";
import { createBackend } from "../src/backend/registry.js";
import { ProgressBar } from "../src/eval/progress.js";
import { preprocessForTower, siglipSpec } from "../src/io/image/index.js";
import { loadModel } from "../src/models/load.js";
import { COLOR_NAMES } from "../src/synth/palette.js";
import { renderScene } from "../src/synth/render.js";
import { DEFAULT_LAYOUT } from "../src/synth/scene.js";
import { SHAPE_NAMES } from "../src/synth/shapes.js";
import { makeScene, splitSeeds } from "../src/synth/world.js";
import { tidy } from "../src/tensor/scope.js";
import { fromF32 } from "../src/tensor/tensor.js";
import { helpFromHeader } from "./help.js";
import { modelSceneOptions, TINY_MODEL } from "./tiny-paths.js";

helpFromHeader(import.meta.url);
const { values } = parseArgs({
  options: {
    model: { type: "string", default: TINY_MODEL },
    scenes: { type: "string", default: "1000" },
    threads: { type: "string" },
    world: { type: "string" },
    objects: { type: "string", default: "1" },
  },
});
const objectsMatch = /^(\d+)(?:-(\d+))?$/.exec(values.objects);
const minObjects = Number(objectsMatch?.[1]);
const maxObjects = Number(objectsMatch?.[2] ?? objectsMatch?.[1]);
if (!objectsMatch || minObjects < 1 || maxObjects < minObjects)
  throw new Error(`--objects: expected a count or a range such as 2-4 (counts ≥ 1), got ${values.objects}`);
const lone = maxObjects === 1;
const wanted = Number(values.scenes);
if (!Number.isInteger(wanted) || wanted < 40)
  throw new Error(`--scenes: expected an integer ≥ 40, got ${values.scenes}`);

const backend = await createBackend("wasm", { threads: values.threads ? Number(values.threads) : undefined });
const { model, config } = await loadModel(values.model, { backend, dtype: "f32" });
const vision = config.vision;
if (!model.vision || !vision) throw new Error(`${values.model}: the model has no vision tower`);
const size = vision.imageSize;
const grid = size / vision.patch;
const spec = siglipSpec(size, "square");
const sceneOptions = modelSceneOptions(values.model, values.world);
console.log(`scenes: layout ${sceneOptions.layout ?? DEFAULT_LAYOUT}`);

interface Sample {
  token: Float32Array;
  pooled: Float32Array;
  colour: number;
  shape: number;
}
const samples: Sample[] = [];
const norms = { object: 0, background: 0 };
const bar = new ProgressBar(wanted, "probe features");
let scenesSeen = 0;
for (const seed of splitSeeds("train", 20000)) {
  if (scenesSeen >= wanted) break;
  const scene = makeScene(seed, sceneOptions);
  if (scene.kind !== "shapes" || scene.objects.length < minObjects || scene.objects.length > maxObjects)
    continue;
  const px = fromF32(backend, preprocessForTower(renderScene(scene), spec), [3, size, size]);
  const [feats, embeds] = tidy(() => {
    const { features, embeds } = model.encodeImage(px);
    return [features.toF32(), embeds.toF32()];
  });
  px.dispose();
  const h = vision.hidden;
  const n = feats.length / h;
  const at = (v: number) => Math.min(grid - 1, Math.floor((v / scene.width) * grid));
  // The scene's pooled tokens, one per scene (the pooled probe reads them for lone shapes only).
  const pooled = new Float32Array(2 * h).fill(Number.NEGATIVE_INFINITY);
  for (let j = 0; j < h; j++) pooled[h + j] = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < h; j++) {
      const v = feats[i * h + j]!;
      if (v > pooled[j]!) pooled[j] = v;
      pooled[h + j]! += v / n;
    }
  // The connector's output, as the LLM receives it: the row norm under each shape and, apart from it, on tokens at
  // least two patches away from the shape's (the background of a single-shape scene).
  const e = embeds.length / n;
  const rowNorm = (i: number) => Math.hypot(...embeds.subarray(i * e, (i + 1) * e));
  for (const o of scene.objects) {
    const t = at(o.y) * grid + at(o.x);
    let far = 0;
    let farCount = 0;
    for (let i = 0; i < n; i++)
      if (
        Math.max(Math.abs((i % grid) - (t % grid)), Math.abs(Math.floor(i / grid) - Math.floor(t / grid))) >=
        2
      ) {
        far += rowNorm(i);
        farCount++;
      }
    norms.object += rowNorm(t);
    norms.background += far / Math.max(1, farCount);
    samples.push({
      token: feats.slice(t * h, (t + 1) * h),
      pooled,
      colour: COLOR_NAMES.indexOf(o.color),
      shape: SHAPE_NAMES.indexOf(o.shape),
    });
  }
  scenesSeen++;
  bar.tick();
}
bar.finish();
model.dispose();

/** Softmax regression on standardised features (full-batch gradient descent); held-out accuracy. */
function probe(xs: Float32Array[], ys: number[], classes: number): number {
  const d = xs[0]!.length;
  const mu = new Float64Array(d);
  const sd = new Float64Array(d);
  for (const x of xs) for (let j = 0; j < d; j++) mu[j]! += x[j]! / xs.length;
  for (const x of xs) for (let j = 0; j < d; j++) sd[j]! += (x[j]! - mu[j]!) ** 2 / xs.length;
  const z = xs.map((x) => Float64Array.from(x, (v, j) => (v - mu[j]!) / Math.sqrt(sd[j]! + 1e-8)));
  const nTrain = Math.floor(z.length * 0.75);
  const w = new Float64Array(classes * d);
  const b = new Float64Array(classes);
  const logits = (x: Float64Array) =>
    Array.from({ length: classes }, (_, k) => {
      let s = b[k]!;
      for (let j = 0; j < d; j++) s += w[k * d + j]! * x[j]!;
      return s;
    });
  for (let epoch = 0; epoch < 200; epoch++) {
    const gw = new Float64Array(classes * d);
    const gb = new Float64Array(classes);
    for (let i = 0; i < nTrain; i++) {
      const l = logits(z[i]!);
      const m = Math.max(...l);
      const e = l.map((v) => Math.exp(v - m));
      const s = e.reduce((p, q) => p + q, 0);
      for (let k = 0; k < classes; k++) {
        const g = e[k]! / s - (k === ys[i] ? 1 : 0);
        gb[k]! += g;
        for (let j = 0; j < d; j++) gw[k * d + j]! += g * z[i]![j]!;
      }
    }
    for (let k = 0; k < classes * d; k++) w[k]! -= 0.5 * (gw[k]! / nTrain + 1e-3 * w[k]!);
    for (let k = 0; k < classes; k++) b[k]! -= (0.5 * gb[k]!) / nTrain;
  }
  let right = 0;
  for (let i = nTrain; i < z.length; i++) {
    const l = logits(z[i]!);
    if (l.indexOf(Math.max(...l)) === ys[i]) right++;
  }
  return right / (z.length - nTrain);
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
const rows = [
  ["colour", COLOR_NAMES.length, (s: Sample) => s.colour],
  ["shape", SHAPE_NAMES.length, (s: Sample) => s.shape],
] as const;
process.stdout.write(
  `${scenesSeen} train scenes of ${values.objects} shape(s), ${samples.length} shapes, ${values.model}\n\n` +
    "| attribute | classes | token under the shape | pooled tokens (max ‖ mean) | chance |\n" +
    "| --- | ---: | ---: | ---: | ---: |\n",
);
for (const [name, classes, label] of rows) {
  const ys = samples.map(label);
  const token = probe(
    samples.map((s) => s.token),
    ys,
    classes,
  );
  const pooled = lone
    ? pct(
        probe(
          samples.map((s) => s.pooled),
          ys,
          classes,
        ),
      )
    : "—";
  process.stdout.write(`| ${name} | ${classes} | ${pct(token)} | ${pooled} | ${pct(1 / classes)} |\n`);
}
process.stdout.write(
  `\nImage embeddings (the connector's output) row norm, mean over the shapes: ${(norms.object / samples.length).toFixed(1)} on the ` +
    `token under the shape, ${(norms.background / samples.length).toFixed(1)} on the tokens two patches or more away from it.\n`,
);
process.exit(0);
