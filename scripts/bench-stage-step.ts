/**
 * One stage-1 or stage-2 step of the built-in model's plan (src/builtin/plan.ts, FULL_PLAN): packed as the trainer
 * runs it (src/models/packed-loss.ts) and one sequence at a time as it ran before (src/testing/per-sequence-step.ts),
 * side by side in one process on the same batches. The recipe is `npm run train:tiny`'s: stage 2 is
 * recipes/imp-stage2-lora.json with the plan's LoRA (r 32, α 64, dropout 0.05), batch 32, max_length 512, rates,
 * the frozen base in f32, the connector from the base, over the plan's mix; stage 1 is recipes/imp-stage1.json
 * (the connector alone) over the captions. Each path has its own model and optimizer; each step both run on the
 * same prepared batch, which goes first alternating, so both see the same machine. Step 1's losses agree to
 * rounding (in stage 2 later ones differ a little: the LoRA dropout masks are drawn in another order). Prints each
 * step's wall and CPU times, the medians over the steps after the first, and the median of the per-step ratios.
 *
 *   npm run world -- --out /tmp/imp-world          (once: the world the mix is drawn from)
 *   node --import tsx scripts/bench-stage-step.ts --world /tmp/imp-world [--stage 2] [--base models/imp-tiny]
 *        [--steps 5] [--threads 2] [--micro 2048]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../src/backend/registry.js";
import { FULL_PLAN } from "../src/builtin/plan.js";
import { imageSpecFor } from "../src/io/image/image-spec.js";
import { templateForModelType } from "../src/io/template/index.js";
import { Tokenizer } from "../src/io/tokenizer/index.js";
import { loadModel } from "../src/models/load.js";
import { perSequenceStep } from "../src/testing/per-sequence-step.js";
import { AdamW } from "../src/train/adamw.js";
import { BatchPlan } from "../src/train/batches.js";
import { initConnector } from "../src/train/connector-weights.js";
import { chooseTemplate, Encoder } from "../src/train/encode.js";
import { loadRecipe } from "../src/train/recipe.js";
import { loadMixture, prepareBatch } from "../src/train/run.js";
import { makeSchedule } from "../src/train/schedule.js";
import { setupTrainable } from "../src/train/trainable.js";
import { Trainer } from "../src/train/trainer.js";
import { Rng } from "../src/util/random.js";
import { machine } from "./bench/limits.js";
import { helpFromHeader } from "./help.js";

helpFromHeader(import.meta.url);
const { values } = parseArgs({
  options: {
    world: { type: "string" },
    base: { type: "string", default: "models/imp-tiny" },
    stage: { type: "string", default: "2" },
    steps: { type: "string", default: "5" },
    threads: { type: "string", default: "2" },
    micro: { type: "string", default: "2048" },
  },
});
if (!values.world) throw new Error("--world: the world folder (npm run world -- --out DIR) is required");
const steps = Number(values.steps);
if (!Number.isInteger(steps) || steps < 2) throw new Error("--steps: expected an integer ≥ 2");
const world = resolve(values.world);
const plan = FULL_PLAN;
const st2 = plan.stage2;
const stage = values.stage === "1" ? 1 : values.stage === "2" ? 2 : null;
if (!stage) throw new Error(`--stage: expected 1 or 2, got ${values.stage}`);

// The stage's mix, as src/builtin/build.ts writes it.
const tmp = mkdtempSync(join(tmpdir(), "imp-bench-stage-"));
const mix = join(tmp, "mix.yaml");
const sources = Object.entries(stage === 2 ? st2.weights : { caption: 1 })
  .filter(([, w]) => (w ?? 0) > 0)
  .map(([cat, w]) => `  - { name: ${cat}, path: ${join(world, "train", `${cat}.json`)}, weight: ${w} }`);
writeFileSync(mix, `seed: 1\nimages: ${join(world, "images")}\nsources:\n${sources.join("\n")}\n`);

const common = (s: { batch: number; lr: number }) => [
  `base=${values.base}`,
  `data=${mix}`,
  `output=${join(tmp, "out")}`,
  `max_steps=${steps}`,
  `global_batch=${s.batch}`,
  `lr=${s.lr}`,
  `max_length=${plan.model.maxPositions}`,
  `seed=${plan.seed}`,
  "validate_images=false",
  "base_dtype=f32",
];
const recipe =
  stage === 2
    ? loadRecipe("recipes/imp-stage2-lora.json", [
        ...common(st2),
        "connector_init=base",
        `connector_lr=${st2.connectorLr}`,
        `lora.rank=${st2.rank}`,
        `lora.alpha=${st2.alpha}`,
        `lora.dropout=${st2.dropout}`,
        "group_by_modality_length=false",
      ])
    : loadRecipe("recipes/imp-stage1.json", common(plan.stage1));
const mixture = loadMixture(recipe);
const backend = await createBackend("wasm", { threads: Number(values.threads) });

async function setup() {
  const { model, config, visionFolder } = await loadModel(recipe.base, { backend, dtype: recipe.baseDtype });
  const rng = new Rng(recipe.seed);
  initConnector(model, recipe.connectorInit, rng);
  const trainable = setupTrainable(model, { ...recipe, mode: recipe.train }, rng);
  model.setTraining(true);
  const optimizer = new AdamW(trainable.groups, {
    beta1: recipe.adamBeta1,
    beta2: recipe.adamBeta2,
    eps: recipe.adamEps,
  });
  return { model, config, visionFolder, optimizer };
}

const packed = await setup();
const single = await setup();
const maxLength = recipe.maxLength ?? packed.config.maxLength;
const encoder = new Encoder({
  tokenizer: await Tokenizer.fromFolder(recipe.base),
  template: chooseTemplate(recipe.template, templateForModelType(packed.config.modelType)),
  imageSpec: await imageSpecFor(packed.model.config, recipe.base, packed.visionFolder),
  imageTokens: packed.model.imageTokens,
  imagePlacement: packed.config.imagePlacement,
  maxLength,
});
const batches = new BatchPlan(mixture.examples.length, recipe.globalBatch, recipe.seed, recipe.epochs, steps);
const schedule = makeSchedule(recipe.schedule, batches.totalSteps, recipe.warmupRatio);
const trainer = new Trainer(packed.model, packed.optimizer, schedule, {
  maxGradNorm: recipe.maxGradNorm,
  maxLength,
  microBatchPositions: Number(values.micro),
});

interface Row {
  step: number;
  positions: number;
  packed: number;
  single: number;
  packedCpu: number;
  singleCpu: number;
}
const rows: Row[] = [];
for (let s = 0; s < steps; s++) {
  const { batch } = await prepareBatch(
    encoder,
    batches.batch(s).map((i) => mixture.examples[i]!),
    false,
    () => {},
  );
  // Wall time, and the process's CPU time (all threads; a worker's wait spins count too).
  const time = <T>(f: () => T): [T, number, number] => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const r = f();
    const c = process.cpuUsage(c0);
    return [r, performance.now() - t0, (c.user + c.system) / 1000];
  };
  const runPacked = () => time(() => trainer.step(s, batch).loss);
  const runSingle = () =>
    time(
      () =>
        perSequenceStep(single.model, single.optimizer, schedule, s, batch, {
          maxLength,
          maxGradNorm: recipe.maxGradNorm,
        }).loss,
    );
  const [p, q] = s % 2 === 0 ? [runPacked(), runSingle()] : (([b, a]) => [a, b])([runSingle(), runPacked()]);
  const positions = batch.reduce((n, e) => n + e.positions, 0);
  rows.push({ step: s + 1, positions, packed: p[1], single: q[1], packedCpu: p[2], singleCpu: q[2] });
  process.stderr.write(
    `step ${s + 1}: ${positions} positions; packed ${(p[1] / 1000).toFixed(2)} s (loss ${p[0]}), ` +
      `one sequence at a time ${(q[1] / 1000).toFixed(2)} s (loss ${q[0]})\n`,
  );
}
rmSync(tmp, { recursive: true, force: true });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const later = rows.slice(1);
const m = machine();
console.log(
  `Stage ${stage}, ${recipe.globalBatch} sequences a step. Machine: ${m.cpu}, ${m.cores} logical CPUs (${m.simd}); Node ${m.node}; wasm backend on ${backend.threads} threads`,
);
console.log("");
console.log(
  "| step | positions | packed: wall, CPU (ms) | one sequence at a time: wall, CPU (ms) | ratio: wall, CPU |",
);
console.log("| ---: | ---: | ---: | ---: | ---: |");
for (const r of rows)
  console.log(
    `| ${r.step} | ${r.positions} | ${Math.round(r.packed)}, ${Math.round(r.packedCpu)} | ` +
      `${Math.round(r.single)}, ${Math.round(r.singleCpu)} | ` +
      `${(r.single / r.packed).toFixed(2)}, ${(r.singleCpu / r.packedCpu).toFixed(2)} |`,
  );
console.log("");
console.log(
  `Steps 2–${steps}: packed median ${(median(later.map((r) => r.packed)) / 1000).toFixed(2)} s, one at a time ` +
    `${(median(later.map((r) => r.single)) / 1000).toFixed(2)} s; median ratio ${median(later.map((r) => r.single / r.packed)).toFixed(2)}× ` +
    `(CPU time ${median(later.map((r) => r.singleCpu / r.packedCpu)).toFixed(2)}×)`,
);
