/**
 * How the built-in model is made, end to end, with the Imp recipe at toy scale:
 *
 *   generated world (src/synth) ─► tokenizer (BPE trained on the world's corpus)
 *   random init ─► SigLIP pretraining of the vision tower (sigmoid loss, text tower dropped)
 *              ─► LM pretraining of the Qwen2-style LLM on the corpus
 *              ─► base checkpoint (Imp-v1.5 layout, f16)
 *   stage 1: `imp-stage1.json` (connector only, captions)           ┐
 *   look warm-ups (optional, in order): `imp-stage2-lora.json` on     │ through the shipped recipes,
 *         colour questions, each merged into the LLM (or, trained     │ scaled down by overrides
 *         whole, copied)                                              │
 *   stage 2: `imp-stage2-lora.json` (LoRA or the whole LLM +          │
 *         connector, the mix)                                         ┘
 *   merge (or copy) ─► the model folder (config.json + model.safetensors + tokenizer files)
 *
 * Deterministic for a seed (same backend and thread count). `FULL_PLAN` (./plan.ts) is `npm run train:tiny`; `SHORT_PLAN` is
 * the few-step version the test suite runs to prove the path works.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Backend } from "../backend/backend.js";
import { f32ToF16Bits } from "../formats/half.js";
import { preprocessForTower, siglipSpec } from "../io/image/index.js";
import { Checkpoint, writeSafetensors } from "../io/safetensors/index.js";
import { Tokenizer } from "../io/tokenizer/index.js";
import { parseModelConfig } from "../models/config.js";
import { VISION_PREFIX } from "../models/layout.js";
import { MultimodalModel } from "../models/multimodal.js";
import { caption, describe, shapeCaption } from "../synth/describe.js";
import { COLOR_NAMES } from "../synth/palette.js";
import { boundCountQ, colorQ, namedBoxes, type Qa } from "../synth/qa.js";
import { qaTurns, type RecordCategory, shortTurn } from "../synth/records.js";
import { renderScene } from "../synth/render.js";
import { rngFor, STREAM } from "../synth/sampling.js";
import { categoryOf, DEFAULT_LAYOUT, type Scene } from "../synth/scene.js";
import { SHAPE_NAMES } from "../synth/shapes.js";
import { sceneVariant } from "../synth/variants.js";
import { imageName, makeScene, splitSeeds } from "../synth/world.js";
import { writeWorld } from "../synth/write-world.js";
import { initParams } from "../train/init.js";
import { corpusSequences, pretrainLm } from "../train/lm-pretrain.js";
import { mergeAdapter } from "../train/merge.js";
import type { ProgressSink } from "../train/progress.js";
import { loadRecipe, type Recipe } from "../train/recipe.js";
import { runTraining } from "../train/run.js";
import type { ContrastivePair, SiglipStepInfo } from "../train/siglip/pretrain.js";
import { pretrainSiglip } from "../train/siglip/pretrain.js";
import { copyAtomic, writeAtomic, writeFolderAtomic, writeJsonAtomic } from "../util/atomic-file.js";
import { UsageError } from "../util/errors.js";
import { Rng } from "../util/random.js";
import { builtinConfig, SPECIAL } from "./config.js";
import { trainEscaping } from "./escape.js";
import type { BuiltinPlan, LookPhase } from "./plan.js";

export interface BuildOptions {
  /** Scratch folder: the world, the base, the stage outputs (reused when present). */
  work: string;
  /** The finished model folder. */
  out: string;
  backend: Backend;
  log?: (line: string) => void;
  /**
   * A model folder made by this plan whose vision tower to take instead of SigLIP pretraining: stages 1 and 2
   * keep the tower frozen, so a built model holds the tower that phase wrote (for trying stage settings on a
   * slow host; a from-scratch build leaves it unset).
   */
  towerFrom?: string;
}

const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

export async function buildBuiltinModel(plan: BuiltinPlan, o: BuildOptions): Promise<void> {
  const log = o.log ?? (() => {});
  const work = resolve(o.work);
  const world = join(work, "world");
  const base = join(work, "base");
  mkdirSync(work, { recursive: true });
  if (existsSync(join(world, "world.json"))) checkWorldPlan(join(world, "world.json"), plan);
  else {
    log(`world: ${plan.world.train} train scenes → ${world}`);
    writeWorld({
      out: world,
      ...plan.world,
      vocabSize: plan.world.vocab,
      popeImages: plan.world.popeImages,
      mcQuestions: plan.world.mc,
      log,
    });
  }
  if (!existsSync(join(base, "model.safetensors")))
    await pretrainBase(plan, world, base, o.backend, log, o.towerFrom);

  const s1 = join(work, "stage1");
  const s2 = join(work, "stage2");
  writeMixture(join(work, "stage1.yaml"), world, categorySources(world, { caption: 1 }));
  const common = (s: { steps: number; batch: number; lr: number }, from = base) => [
    `base=${from}`,
    `max_steps=${s.steps}`,
    `global_batch=${s.batch}`,
    `lr=${s.lr}`,
    `max_length=${plan.model.maxPositions}`,
    `seed=${plan.seed}`,
    `save_every=${Math.max(50, Math.ceil(s.steps / 4))}`,
    "validate_images=false",
    // The frozen base widened to f32 once at load rather than decoded from f16 inside every product: the same
    // values and results, a sixth less time per stage-2 step.
    "base_dtype=f32",
  ];
  const sink: ProgressSink = {
    write: (s: string) => {
      for (const line of s.split("\n")) if (line.trim()) log(line);
    },
  };
  const recipes = join(process.cwd(), "recipes");
  const stage1 = loadRecipe(join(recipes, "imp-stage1.json"), [
    ...common(plan.stage1),
    `data=${join(work, "stage1.yaml")}`,
    `output=${s1}`,
  ]);
  log("stage 1: connector on captions (recipes/imp-stage1.json)");
  // Every stage resumes what a killed build left.
  const train = (recipe: Recipe, stopAfter?: number) =>
    runTraining(recipe, { resume: true, backend: o.backend, sink, stopAfter });
  await train(stage1);
  const st2 = plan.stage2;
  const lora = [
    `connector_lr=${st2.connectorLr}`,
    `lora.rank=${st2.rank}`,
    `lora.alpha=${st2.alpha}`,
    `lora.dropout=${st2.dropout}`,
    // Every record of the world has an image, and there grouping by modality only sorts each batch longest first:
    // the same examples in each step, but other LoRA dropout draws. Off, so the steps stay as they were made.
    "group_by_modality_length=false",
  ];
  // Stage 2 starts from the base and stage 1's connector, or from the last look warm-up's merged LLM and connector;
  // each warm-up starts from the one before it.
  let llm = base;
  let connector = s1;
  // The dense signal's head a phase passes on: a next phase reading the same layer starts from it, not from zeros.
  let head: { run: string; layer: number | undefined } | null = null;
  const headInit = (loss: number, layer: number | undefined) =>
    loss > 0 && head && head.layer === layer ? [`image_token_head_init=${head.run}`] : [];
  for (const [i, phase] of plan.look.entries()) {
    const name = `look-${i + 1}`;
    const look = join(work, name);
    const lookModel = join(work, `${name}-model`);
    const { colors, counts } = writeLookSet(join(work, `${name}.json`), plan, phase);
    const mix = phase.mix ?? 0;
    writeMixture(join(work, `${name}.yaml`), world, [
      { name: "look", path: join(work, `${name}.json`), weight: 1 },
      ...(mix > 0 ? scaled(categorySources(world, plan.stage2.weights), mix) : []),
    ]);
    // The k-th try of an escape check trains with the next seed, in a folder of its own.
    const tryRecipe = (k: number) =>
      loadRecipe(join(recipes, "imp-stage2-lora.json"), [
        ...common({ ...phase, lr: phase.lr ?? st2.lr }, llm),
        `seed=${plan.seed + k}`,
        `data=${join(work, `${name}.yaml`)}`,
        `output=${k === 0 ? look : `${look}.try-${k + 1}`}`,
        `connector_init=${connector}`,
        `image_token_loss=${phase.imageTokenLoss}`,
        ...(phase.imageTokenLayer !== undefined ? [`image_token_layer=${phase.imageTokenLayer}`] : []),
        ...headInit(phase.imageTokenLoss, phase.imageTokenLayer),
        ...lora,
        ...(phase.train === "full" ? ["train=full"] : []),
        ...(phase.schedule ? [`schedule=${phase.schedule}`] : []),
      ]);
    log(
      `${name}: ${phase.train === "full" ? "the whole LLM" : "LoRA"} + connector on colour questions about ${colors} ${phase.scenes === "single" ? "single-object" : "shapes"} scenes` +
        (phase.imageTokenLoss > 0
          ? `, image-token signal ${phase.imageTokenLoss}` +
            (phase.imageTokenLayer !== undefined ? ` on layer ${phase.imageTokenLayer}'s output` : "")
          : "") +
        (counts > 0 ? ` and ${counts} colour-and-shape count questions` : "") +
        (mix > 0 ? `, stage 2's mix beside them at ${mix}× its weights` : "") +
        (phase.escape
          ? `; up to ${phase.escape.tries} seeds, each kept only if its dense term is under ${phase.escape.below} by step ${phase.escape.by}`
          : "") +
        " (recipes/imp-stage2-lora.json)",
    );
    let run = look;
    if (phase.escape) run = await trainEscaping(tryRecipe, phase.escape, train, log);
    else await train(tryRecipe(0));
    // The merge writes its folder whole or not at all (exportCheckpoint renames a finished temporary into place);
    // a full phase's run wrote its whole checkpoint, copied into the same place the same way.
    if (!existsSync(lookModel)) {
      if (phase.train === "full") copyModelFolder(join(run, "model"), lookModel);
      else mergeAdapter({ base: llm, adapter: run, out: lookModel, backend: o.backend });
    }
    llm = lookModel;
    connector = run;
    if (phase.imageTokenLoss > 0) head = { run, layer: phase.imageTokenLayer };
  }
  const rehearse = st2.rehearse ?? 0;
  const lastLook = join(work, `look-${plan.look.length}.json`);
  writeMixture(join(work, "stage2.yaml"), world, [
    ...categorySources(world, st2.weights),
    ...(rehearse > 0 ? [{ name: "look", path: lastLook, weight: rehearse }] : []),
  ]);
  const stage2 = loadRecipe(join(recipes, "imp-stage2-lora.json"), [
    ...common(st2, llm),
    `data=${join(work, "stage2.yaml")}`,
    `output=${s2}`,
    `connector_init=${connector}`,
    `image_token_loss=${st2.imageTokenLoss}`,
    ...headInit(st2.imageTokenLoss, undefined),
    ...lora,
    ...(st2.train === "full" ? ["train=full"] : []),
  ]);
  log(
    `stage 2: ${st2.train === "full" ? "the whole LLM" : "LoRA"} + connector on the mix (recipes/imp-stage2-lora.json)` +
      (st2.imageTokenLoss > 0 ? `, image-token signal ${st2.imageTokenLoss}` : "") +
      (rehearse > 0 ? `, the last look phase's questions kept at weight ${rehearse}` : ""),
  );
  await train(stage2);
  if (st2.train === "full") {
    log(`copy → ${o.out}`);
    copyModelFolder(join(s2, "model"), o.out);
  } else {
    log(`merge → ${o.out}`);
    mergeAdapter({ base: llm, adapter: s2, out: o.out, backend: o.backend });
  }
}

/**
 * A full run's model folder copied whole or not at all, as a merge writes its folder (exportCheckpoint renames a
 * finished temporary into place).
 */
function copyModelFolder(trained: string, dest: string): void {
  writeFolderAtomic(dest, (tmp) => {
    for (const f of readdirSync(trained)) copyAtomic(join(trained, f), join(tmp, f));
  });
}

/**
 * A world a killed run left is reused only if the plan would write the same one: a world section changed by
 * `--plan` would otherwise be silently ignored.
 */
/** World settings added after the first worlds were written, with the value those worlds had. */
const WORLD_DEFAULTS = { convQuestionFirst: 0, layout: DEFAULT_LAYOUT } as const;

function checkWorldPlan(file: string, plan: BuiltinPlan): void {
  const had = (JSON.parse(readFileSync(file, "utf8")) as { options?: Record<string, unknown> }).options ?? {};
  for (const [key, want] of Object.entries(plan.world)) {
    // A world written before a key existed was written with its default.
    const was = had[key] ?? WORLD_DEFAULTS[key as keyof typeof WORLD_DEFAULTS] ?? 0;
    if (was !== want)
      throw new UsageError(
        `${file}: written with world.${key} = ${JSON.stringify(was)} but the plan has ${JSON.stringify(want)}; ` +
          "remove that world folder or use another --work",
      );
  }
}

/**
 * A look warm-up's records, in LLaVA format with the short-answer suffix: one colour question ("What color is the
 * star?") per shapes scene of the train split that the phase asks about, then `phase.counts` count questions per
 * colour question, one per scene of several shapes ("How many red circles are there?"); returns how many of each.
 */
function writeLookSet(file: string, plan: BuiltinPlan, phase: LookPhase): { colors: number; counts: number } {
  const boxes = phase.imageTokenLoss > 0;
  const record = (scene: Scene, kind: string, qa: Qa) => ({
    id: `${scene.id}-${kind}`,
    image: `train/${imageName(scene.id)}`,
    conversations: qaTurns([shortTurn(qa)]),
    ...(boxes ? { named_boxes: namedBoxes(scene, qa) ?? [] } : {}),
  });
  const scenes = splitSeeds("train", plan.world.train)
    .map((seed) => makeScene(seed, { layout: plan.world.layout }))
    .filter((s) => s.kind === "shapes");
  const colors = [];
  for (const s of scenes) {
    const asked =
      (phase.scenes === "single" ? s.objects.length === 1 : s.objects.length >= 1) &&
      s.objects.length <= (phase.maxObjects ?? Number.POSITIVE_INFINITY);
    const qa = asked ? colorQ(s, rngFor(s.id, STREAM.questions ^ LOOK_STREAM)) : null;
    if (qa) colors.push(record(s, "look", qa));
  }
  if (colors.length === 0)
    throw new UsageError(`the look warm-up: no ${phase.scenes} scene in ${plan.world.train} train scenes`);
  // Drawn only as many as are asked for, from the scenes of several shapes in seed order.
  const want = Math.round(phase.counts * colors.length);
  const counts = [];
  for (const s of scenes) {
    if (counts.length >= want) break;
    const qa =
      s.objects.length > 1 ? boundCountQ(s, rngFor(s.id, STREAM.questions ^ LOOK_COUNT_STREAM)) : null;
    if (qa) counts.push(record(s, "look-count", qa));
  }
  writeAtomic(file, `${JSON.stringify([...colors, ...counts])}\n`);
  return { colors: colors.length, counts: counts.length };
}

/** Mixed into the question stream's key so the look questions are drawn apart from the records' own. */
const LOOK_STREAM = 0x100c;
const LOOK_COUNT_STREAM = 0x100d;

/** A stage's data mixture over the world's train files. */
function writeMixture(file: string, world: string, sources: readonly MixtureSource[]): void {
  const lines = sources.map((x) => `  - { name: ${x.name}, path: ${x.path}, weight: ${x.weight} }`);
  writeAtomic(file, `seed: 1\nimages: ${join(world, "images")}\nsources:\n${lines.join("\n")}\n`);
}

interface MixtureSource {
  name: string;
  path: string;
  weight: number;
}

/** Sources with their weights multiplied by `by`. */
function scaled(sources: readonly MixtureSource[], by: number): MixtureSource[] {
  return sources.map((x) => ({ ...x, weight: x.weight * by }));
}

/** The world's train file of each category with a positive weight. */
function categorySources(world: string, weights: Partial<Record<RecordCategory, number>>): MixtureSource[] {
  return Object.entries(weights)
    .filter((e): e is [string, number] => e[1] !== undefined && e[1] > 0)
    .map(([cat, weight]) => ({ name: cat, path: join(world, "train", `${cat}.json`), weight }));
}

/** Random init → SigLIP pretraining → LM pretraining → the base checkpoint. */
async function pretrainBase(
  plan: BuiltinPlan,
  world: string,
  base: string,
  backend: Backend,
  log: (line: string) => void,
  towerFrom?: string,
): Promise<void> {
  const tok = await Tokenizer.fromFolder(join(world, "tokenizer"));
  const cfg = builtinConfig(plan, tok);
  const model = new MultimodalModel(parseModelConfig(cfg, "built-in config"), backend);
  const rng = new Rng(plan.seed);
  initParams(model, backend, rng);
  const donor = towerFrom ? Checkpoint.open(towerFrom) : null;
  try {
    if (donor) log(`SigLIP pretraining: skipped, the vision tower taken from ${towerFrom}`);
    else pretrainTower(plan, model, tok, rng, log);
    const lp = plan.lm;
    const corpus = readFileSync(join(world, "corpus.txt"), "utf8");
    const eot = tok.tokenToId(SPECIAL.eot)!;
    const seqs = corpusSequences(tok, corpus, lp.seqLen, eot, lp.steps * lp.batch * lp.seqLen);
    log(
      `LM pretraining: ${lp.steps} steps × ${lp.batch} sequences of ${lp.seqLen} (${seqs.length} in the corpus)`,
    );
    pretrainLm(model, {
      steps: lp.steps,
      batch: lp.batch,
      lr: lp.lr,
      warmupRatio: 0.05,
      weightDecay: 0.01,
      sequences: (s) => Array.from({ length: lp.batch }, (_, k) => seqs[(s * lp.batch + k) % seqs.length]!),
      onStep: (s, r) => {
        if (s % 50 === 0 || s === lp.steps - 1) log(`  lm step ${s}: loss ${r.loss.toFixed(4)}`);
      },
    });
    // The base: every tensor in f16, the tokenizer, config.json; the folder appears whole (a resumed build skips
    // pretraining when it is there).
    writeFolderAtomic(base, (dir) => {
      writeSafetensors(
        join(dir, "model.safetensors"),
        model.namedParameters().map(([name, p]) => {
          const t = p.value;
          if (donor && name.startsWith(VISION_PREFIX)) {
            const e = donor.has(name) ? donor.info(name) : null;
            if (e?.dtype !== "F16" || e.shape.join() !== t.shape.join())
              throw new UsageError(
                `${towerFrom}: "${name}" is ${e ? `${e.dtype} [${e.shape}]` : "missing"}; this plan's tower needs F16 [${t.shape}]`,
              );
            return { name, dtype: "F16" as const, shape: [...t.shape], data: () => donor.readBytes(name) };
          }
          return { name, dtype: "F16" as const, shape: [...t.shape], data: () => halfBytes(t.toF32()) };
        }),
        { format: "pt" },
      );
      for (const f of TOKENIZER_FILES) copyAtomic(join(world, "tokenizer", f), join(dir, f));
      writeJsonAtomic(join(dir, "config.json"), cfg);
    });
  } finally {
    donor?.close();
    model.dispose();
  }
}

/** SigLIP pretraining of the model's vision tower on the world's train scenes (the text tower then dropped). */
function pretrainTower(
  plan: BuiltinPlan,
  model: MultimodalModel,
  tok: Tokenizer,
  rng: Rng,
  log: (line: string) => void,
): void {
  const spec = siglipSpec(plan.model.imageSize, "square");
  const seeds = splitSeeds("train", plan.world.train);
  const order = rng.shuffle([...seeds]);
  // Texts name what is in the image: a sign scene's caption (objects, signs with their words), a chart's
  // description (labels and values), a shape scene's shapes (below). Half of each batch are scenes with a
  // near-duplicate (one detail changed, so one word of the text changes) as a hard negative.
  const varRng = new Rng(plan.seed + 1);
  const textRng = new Rng(plan.seed + 2);
  // A scene of shapes is named by its shapes alone ("Two stars and a circle."): with colours in the text,
  // colour tells nearly every pair apart and the tower never learns outlines (shape probe 19 % → 38 % at 400
  // steps without them). Signs keep their words and charts their labels and values.
  const plainText = (scene: Scene): string =>
    scene.kind === "chart"
      ? describe(scene, textRng)
      : scene.kind === "shapes"
        ? shapeCaption(scene)
        : caption(scene, textRng);
  const sp = plan.siglip;
  const grid = plan.model.imageSize / plan.model.patch;
  const phrases = COLOR_NAMES.flatMap((color) => SHAPE_NAMES.map((shape) => categoryOf({ color, shape })));
  const pair = (scene: Scene, text: string): ContrastivePair => ({
    pixels: preprocessForTower(renderScene(scene), spec),
    text,
    ...(sp.patchLoss > 0 && { centres: objectCentres(scene, grid, phrases) }),
  });
  let cursor = 0;
  const window: SiglipStepInfo[] = [];
  log(`SigLIP pretraining: ${sp.steps} steps × ${sp.batch} pairs`);
  pretrainSiglip(model, tok, rng, {
    steps: sp.steps,
    batch: sp.batch,
    lr: sp.lr,
    warmupRatio: 0.05,
    weightDecay: 0.01,
    embedDim: sp.embedDim,
    pooling: sp.pooling,
    ...(sp.patchLoss > 0 && { patchLoss: { weight: sp.patchLoss, phrases } }),
    text: {
      vocab: tok.vocabSize,
      maxLength: 192,
      hidden: plan.model.visionHidden,
      intermediate: 4 * plan.model.visionHidden,
      heads: plan.model.visionHeads,
      layers: sp.textLayers,
    },
    // Steps take scenes in order from a running cursor (a step with near-duplicates uses fewer than a batch).
    pairs: () => {
      const out: ContrastivePair[] = [];
      while (out.length < sp.batch) {
        const scene = makeScene(order[cursor++ % order.length]!, { layout: plan.world.layout });
        const variant =
          out.length < sp.batch / 2 && out.length + 2 <= sp.batch ? sceneVariant(scene, varRng) : null;
        if (!variant) {
          out.push(pair(scene, plainText(scene)));
          continue;
        }
        // A changed shape is named by shapes alone; any other change needs the full description to show.
        const named = scene.kind === "shapes" ? [shapeCaption(scene), shapeCaption(variant)] : null;
        const [a, b] =
          named && named[0] !== named[1]
            ? named
            : [describe(scene, new Rng(scene.id)), describe(variant, new Rng(scene.id))];
        out.push(pair(scene, a!), pair(variant, b!));
      }
      return out;
    },
    // Each logged line averages the steps since the last one (one batch's accuracy is too noisy to compare runs).
    onStep: (s, r) => {
      window.push(r);
      if (s % 50 !== 0 && s !== sp.steps - 1) return;
      const mean = (f: (i: SiglipStepInfo) => number) => window.reduce((a, i) => a + f(i), 0) / window.length;
      log(
        `  siglip step ${s}: loss ${mean((i) => i.loss).toFixed(4)}, in-batch retrieval ${(mean((i) => i.accuracy) * 100).toFixed(0)}%` +
          (sp.patchLoss > 0
            ? `; patch loss ${mean((i) => i.patchLoss).toFixed(4)}, centres named ${(mean((i) => i.patchAccuracy) * 100).toFixed(1)}%`
            : ""),
      );
      window.length = 0;
    },
  });
}

/** The patch (row-major, `grid` × `grid`) under each shape's centre, with its "{colour} {shape}" phrase's index. */
export function objectCentres(
  scene: Scene,
  grid: number,
  phrases: readonly string[],
): Array<{ patch: number; phrase: number }> {
  const cell = (v: number, extent: number) => Math.min(grid - 1, Math.floor((v / extent) * grid));
  return scene.objects.map((o) => {
    const phrase = phrases.indexOf(categoryOf(o));
    if (phrase < 0) throw new Error(`scene ${scene.id}: no phrase for ${categoryOf(o)}`);
    return { patch: cell(o.y, scene.height) * grid + cell(o.x, scene.width), phrase };
  });
}

function halfBytes(v: Float32Array): Uint8Array {
  const out = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = f32ToF16Bits(v[i]!);
  return new Uint8Array(out.buffer);
}
