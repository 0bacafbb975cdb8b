/**
 * How the built-in model is made, end to end, with the Imp recipe at toy scale:
 *
 *   generated world (src/synth) ─► tokenizer (BPE trained on the world's corpus)
 *   random init ─► SigLIP pretraining of the vision tower (sigmoid loss, text tower dropped)
 *              ─► LM pretraining of the Qwen2-style LLM on the corpus
 *              ─► base checkpoint (Imp-v1.5 layout, f16)
 *   stage 1: `imp-stage1.json` (connector only, captions)           ┐
 *   look (optional): `imp-stage2-lora.json` on colour questions      │ through the shipped recipes,
 *         about single-object scenes, merged into the LLM            │ scaled down by overrides
 *   stage 2: `imp-stage2-lora.json` (LoRA + connector, the mix)     ┘
 *   merge ─► the model folder (config.json + model.safetensors + tokenizer files)
 *
 * Deterministic for a seed (same backend and thread count). `FULL_PLAN` is `npm run train:tiny`; `SHORT_PLAN` is
 * the few-step version the test suite runs to prove the path works.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
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
import { boundCountQ, colorQ, type Qa } from "../synth/qa.js";
import { qaTurns, type RecordCategory, shortTurn } from "../synth/records.js";
import { renderScene } from "../synth/render.js";
import { rngFor, STREAM } from "../synth/sampling.js";
import { categoryOf, DEFAULT_LAYOUT, type Scene, type ShapeLayout } from "../synth/scene.js";
import { SHAPE_NAMES } from "../synth/shapes.js";
import { sceneVariant } from "../synth/variants.js";
import { imageName, makeScene, splitSeeds } from "../synth/world.js";
import { writeWorld } from "../synth/write-world.js";
import { UsageError } from "../util/errors.js";
import { Rng } from "../util/random.js";
import { initParams } from "./init.js";
import { corpusSequences, pretrainLm } from "./lm-pretrain.js";
import { mergeAdapter } from "./merge.js";
import type { ProgressSink } from "./progress.js";
import { loadRecipe } from "./recipe.js";
import { runTraining } from "./run.js";
import type { ContrastivePair, SiglipStepInfo } from "./siglip/pretrain.js";
import { pretrainSiglip } from "./siglip/pretrain.js";
import type { ImagePooling } from "./siglip/towers.js";

export interface BuiltinPlan {
  seed: number;
  world: {
    train: number;
    val: number;
    test: number;
    evalVal: number;
    corpus: number;
    vocab: number;
    popeImages: number;
    mc: number;
    /** The share of conversation records that open with a question, not a caption (src/synth/records.ts). */
    convQuestionFirst: number;
    /** How shapes scenes place their shapes: "free" (the committed model's world) or on an 8 × 8 "grid" (scene.ts). */
    layout: ShapeLayout;
  };
  model: {
    imageSize: number;
    patch: number;
    visionHidden: number;
    visionLayers: number;
    visionHeads: number;
    hidden: number;
    layers: number;
    heads: number;
    kvHeads: number;
    intermediate: number;
    maxPositions: number;
  };
  siglip: {
    steps: number;
    batch: number;
    lr: number;
    embedDim: number;
    textLayers: number;
    pooling: ImagePooling;
    /**
     * Weight of the patch-level loss (0: none): the patch under each shape's centre against its colour-and-shape
     * phrase, so that one token per object says what it is (src/train/siglip/pretrain.ts).
     */
    patchLoss: number;
  };
  lm: { steps: number; batch: number; seqLen: number; lr: number };
  stage1: { steps: number; batch: number; lr: number };
  /**
   * A warm-up between stages 1 and 2 that teaches the LLM to look (0 steps: none): stage 2's recipe and rates on
   * one colour question per single-object training scene, where the answer is any object patch's colour. From
   * stage 1, the mix alone never makes a short answer depend on the image; after this warm-up it does, in scenes
   * of several shapes too (docs/builtin-model.md, "Learning to look"). `counts`: count questions about one colour
   * and one shape in scenes of several shapes ("How many red circles are there?") per colour question (0: none).
   */
  look: { steps: number; batch: number; counts: number };
  stage2: {
    steps: number;
    batch: number;
    lr: number;
    connectorLr: number;
    rank: number;
    alpha: number;
    dropout: number;
    /** Records per category, as a multiple of the category's count in the train split. */
    weights: Partial<Record<RecordCategory, number>>;
  };
}

export const FULL_PLAN: BuiltinPlan = {
  seed: 1,
  world: {
    train: 20000,
    val: 500,
    test: 1000,
    evalVal: 200,
    corpus: 6000,
    vocab: 2048,
    popeImages: 200,
    mc: 300,
    // The committed model's world: every conversation opens with a caption (docs/builtin-model.md says what a
    // run with questions first would change).
    convQuestionFirst: 0,
    layout: "free",
  },
  model: {
    // 128 px in 16-px patches: 64 image tokens, each patch a 16×16 piece of a shape's outline or two characters
    // of a sign (at 64 px the words are not legible).
    imageSize: 128,
    patch: 16,
    visionHidden: 192,
    visionLayers: 4,
    visionHeads: 3,
    hidden: 256,
    layers: 4,
    heads: 4,
    kvHeads: 2,
    intermediate: 768,
    maxPositions: 512,
  },
  // A bag-of-words text tower (0 layers): caption retrieval then hinges on the image side, which is the part kept.
  siglip: { steps: 2200, batch: 32, lr: 5e-4, embedDim: 128, textLayers: 0, pooling: "max", patchLoss: 0 },
  lm: { steps: 600, batch: 16, seqLen: 128, lr: 2e-3 },
  stage1: { steps: 200, batch: 32, lr: 1e-3 },
  look: { steps: 0, batch: 16, counts: 0 },
  stage2: {
    steps: 800,
    batch: 32,
    lr: 1e-3,
    connectorLr: 5e-4,
    rank: 32,
    alpha: 64,
    dropout: 0.05,
    weights: { vqa: 1, pope: 0.5, text: 1, chart: 1, mc: 0.3, detail: 0.15, conv: 0.15, caption: 0.05 },
  },
};

export const SHORT_PLAN: BuiltinPlan = {
  ...FULL_PLAN,
  world: {
    train: 40,
    val: 4,
    test: 12,
    evalVal: 0,
    corpus: 30,
    vocab: 600,
    popeImages: 6,
    mc: 6,
    convQuestionFirst: 0.5,
    layout: "grid",
  },
  model: {
    ...FULL_PLAN.model,
    imageSize: 64,
    visionHidden: 64,
    visionHeads: 1,
    visionLayers: 2,
    hidden: 64,
    layers: 2,
    heads: 1,
    kvHeads: 1,
    intermediate: 128,
  },
  siglip: { ...FULL_PLAN.siglip, steps: 3, batch: 4, embedDim: 32, textLayers: 1, patchLoss: 1 },
  lm: { ...FULL_PLAN.lm, steps: 3, batch: 2, seqLen: 32 },
  stage1: { ...FULL_PLAN.stage1, steps: 2, batch: 4 },
  look: { steps: 2, batch: 2, counts: 1 },
  stage2: { ...FULL_PLAN.stage2, steps: 2, batch: 4, rank: 4, alpha: 8 },
};

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

const SPECIAL = { eot: "<|endoftext|>", imEnd: "<|im_end|>", image: "<image>" };

/** config.json of the built-in model (Imp-v1.5 `imp_qwen2` schema). */
export function builtinConfig(plan: BuiltinPlan, tok: Tokenizer): Record<string, unknown> {
  const m = plan.model;
  const id = (t: string) => {
    const v = tok.tokenToId(t);
    if (v === undefined) throw new Error(`the world tokenizer lacks ${t}`);
    return v;
  };
  return {
    architectures: ["ImpQwen2ForCausalLM"],
    model_type: "imp_qwen2",
    hidden_size: m.hidden,
    intermediate_size: m.intermediate,
    num_hidden_layers: m.layers,
    num_attention_heads: m.heads,
    num_key_value_heads: m.kvHeads,
    hidden_act: "silu",
    rms_norm_eps: 1e-6,
    rope_theta: 10000.0,
    // Embedding rows padded to a multiple of 64, as released checkpoints pad theirs.
    vocab_size: Math.ceil(tok.vocabSize / 64) * 64,
    max_position_embeddings: m.maxPositions,
    tie_word_embeddings: false,
    use_sliding_window: false,
    eos_token_id: id(SPECIAL.imEnd),
    pad_token_id: id(SPECIAL.eot),
    image_token: SPECIAL.image,
    image_token_index: id(SPECIAL.image),
    image_aspect_ratio: "square",
    tokenizer_model_max_length: m.maxPositions,
    tokenizer_padding_side: "right",
    mm_projector_type: "mlp2x_gelu",
    mm_hidden_size: m.visionHidden,
    mm_vision_select_layer: -2,
    mm_vision_select_feature: "patch",
    mm_vision_tower: "imp-ts/siglip-world-tiny",
    mm_use_im_start_end: false,
    mm_use_im_patch_token: false,
    vision_tower_config: {
      model_type: "siglip_vision_model",
      hidden_size: m.visionHidden,
      intermediate_size: 4 * m.visionHidden,
      num_attention_heads: m.visionHeads,
      // The released configs give the original tower's depth; select layer −2 drops its last layer.
      num_hidden_layers: m.visionLayers + 1,
      patch_size: m.patch,
      image_size: m.imageSize,
      num_channels: 3,
      layer_norm_eps: 1e-6,
      hidden_act: "gelu_pytorch_tanh",
    },
    torch_dtype: "float16",
  };
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
  writeMixture(join(work, "stage2.yaml"), world, categorySources(world, plan.stage2.weights));
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
  await runTraining(stage1, { resume: true, backend: o.backend, sink });
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
  // Stage 2 starts from the base and stage 1's connector, or from the look warm-up's merged LLM and connector.
  let llm = base;
  let connector = s1;
  if (plan.look.steps > 0) {
    const look = join(work, "look");
    const lookModel = join(work, "look-model");
    const { colors, counts } = writeLookSet(join(work, "look.json"), plan);
    writeMixture(join(work, "look.yaml"), world, [
      { name: "look", path: join(work, "look.json"), weight: 1 },
    ]);
    const recipe = loadRecipe(join(recipes, "imp-stage2-lora.json"), [
      ...common({ ...plan.look, lr: st2.lr }),
      `data=${join(work, "look.yaml")}`,
      `output=${look}`,
      `connector_init=${s1}`,
      ...lora,
    ]);
    log(
      `look: LoRA + connector on colour questions about ${colors} single-object scenes` +
        (counts > 0 ? ` and ${counts} colour-and-shape count questions` : "") +
        " (recipes/imp-stage2-lora.json)",
    );
    await runTraining(recipe, { resume: true, backend: o.backend, sink });
    // The merge writes its folder whole or not at all (exportCheckpoint renames a finished temporary into place).
    if (!existsSync(lookModel)) mergeAdapter({ base, adapter: look, out: lookModel, backend: o.backend });
    llm = lookModel;
    connector = look;
  }
  const stage2 = loadRecipe(join(recipes, "imp-stage2-lora.json"), [
    ...common(st2, llm),
    `data=${join(work, "stage2.yaml")}`,
    `output=${s2}`,
    `connector_init=${connector}`,
    ...lora,
  ]);
  log("stage 2: LoRA + connector on the mix (recipes/imp-stage2-lora.json)");
  await runTraining(stage2, { resume: true, backend: o.backend, sink });
  log(`merge → ${o.out}`);
  mergeAdapter({ base: llm, adapter: s2, out: o.out, backend: o.backend });
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
 * The look warm-up's records, in LLaVA format with the short-answer suffix: one colour question ("What color is the
 * star?") per single-object shape scene of the train split, then `plan.look.counts` count questions per colour
 * question, one per scene of several shapes ("How many red circles are there?"); returns how many of each.
 */
function writeLookSet(file: string, plan: BuiltinPlan): { colors: number; counts: number } {
  const record = (seed: number, kind: string, qa: Qa) => ({
    id: `${seed}-${kind}`,
    image: `train/${imageName(seed)}`,
    conversations: qaTurns([shortTurn(qa)]),
  });
  const scenes = splitSeeds("train", plan.world.train)
    .map((seed) => makeScene(seed, { layout: plan.world.layout }))
    .filter((s) => s.kind === "shapes");
  const colors = [];
  for (const s of scenes) {
    const qa = s.objects.length === 1 ? colorQ(s, rngFor(s.id, STREAM.questions ^ LOOK_STREAM)) : null;
    if (qa) colors.push(record(s.id, "look", qa));
  }
  if (colors.length === 0)
    throw new UsageError(`the look warm-up: no single-object scene in ${plan.world.train} train scenes`);
  // Drawn only as many as are asked for, from the scenes of several shapes in seed order.
  const want = Math.round(plan.look.counts * colors.length);
  const counts = [];
  for (const s of scenes) {
    if (counts.length >= want) break;
    const qa =
      s.objects.length > 1 ? boundCountQ(s, rngFor(s.id, STREAM.questions ^ LOOK_COUNT_STREAM)) : null;
    if (qa) counts.push(record(s.id, "look-count", qa));
  }
  writeFileSync(file, `${JSON.stringify([...colors, ...counts])}\n`);
  return { colors: colors.length, counts: counts.length };
}

/** Mixed into the question stream's key so the look questions are drawn apart from the records' own. */
const LOOK_STREAM = 0x100c;
const LOOK_COUNT_STREAM = 0x100d;

/** A stage's data mixture over the world's train files. */
function writeMixture(file: string, world: string, sources: readonly MixtureSource[]): void {
  const lines = sources.map((x) => `  - { name: ${x.name}, path: ${x.path}, weight: ${x.weight} }`);
  writeFileSync(file, `seed: 1\nimages: ${join(world, "images")}\nsources:\n${lines.join("\n")}\n`);
}

interface MixtureSource {
  name: string;
  path: string;
  weight: number;
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
    // The base: every tensor in f16, the tokenizer, config.json.
    mkdirSync(base, { recursive: true });
    writeSafetensors(
      join(base, "model.safetensors"),
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
    for (const f of TOKENIZER_FILES) copyFileSync(join(world, "tokenizer", f), join(base, f));
    writeFileSync(join(base, "config.json"), `${JSON.stringify(cfg, null, 2)}\n`);
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
