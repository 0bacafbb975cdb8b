/**
 * The built-in model's plan: the generated world's size, the model's sizes, and each training phase's steps and
 * rates. `FULL_PLAN` makes the committed model (`npm run train:tiny`); `SHORT_PLAN` is the few-step version the
 * test suite runs to prove the path works (./build.ts runs a plan).
 */
import type { ImagePlacement } from "../io/template/index.js";
import type { RecordCategory } from "../synth/records.js";
import type { ShapeLayout } from "../synth/scene.js";
import type { ImagePooling } from "../train/siglip/towers.js";
import { UsageError } from "../util/errors.js";
import type { EscapeCheck } from "./escape.js";

/** One look warm-up (see BuiltinPlan.look). */
export interface LookPhase {
  steps: number;
  batch: number;
  /** Learning rate of the LoRA weights (absent: stage 2's). */
  lr?: number;
  /**
   * Count questions about one colour and one shape in scenes of several shapes ("How many red circles are
   * there?") per colour question (0: none).
   */
  counts: number;
  /**
   * Which scenes the colour questions ask about: "single" (one shape: the answer is any object patch's colour)
   * or "several" (every shapes scene with a shape named uniquely: the question's noun must be bound to one of
   * several objects, the warm-up that lets the other kinds be learnt with the question first).
   */
  scenes: "single" | "several";
  /**
   * At most this many shapes in a scene asked about (absent: any): an easy start for binding, two shapes before
   * more (with "several").
   */
  maxObjects?: number;
  /** Weight of the dense image-token signal (recipe `image_token_loss`; question-first models only; 0: none). */
  imageTokenLoss: number;
  /** The decoder layer whose output that signal's head reads (recipe `image_token_layer`; absent: the last). */
  imageTokenLayer?: number;
  /**
   * What is trained: "lora" (absent; stage 2's adapters, merged after the phase) or "full" (every LLM weight and
   * the connector). Binding the question's noun to one object is learnt far later through adapters on a pretrained
   * LLM than with its weights free (docs/builtin-model.md).
   */
  train?: "lora" | "full";
  /**
   * The learning-rate schedule (absent: stage 2's recipe's, cosine). "constant": binding is learnt late, after
   * hundreds of steps on the plateau, where a cosine has already cut the rate (docs/builtin-model.md).
   */
  schedule?: "cosine" | "constant";
  /**
   * Stage 2's mix beside the phase's questions, each category at `mix` times its stage-2 weight (absent or 0:
   * none). Colour questions alone with every weight trained wreck the LLM's language; the mix kept in view keeps it
   * (rehearsal, docs/builtin-model.md).
   */
  mix?: number;
  /**
   * Tries with successive seeds until one's dense term is under `below` by step `by` (./escape.ts): when binding
   * is learnt is the data order's luck. Needs `imageTokenLoss` > 0.
   */
  escape?: EscapeCheck;
}

/**
 * `look` as a plan file gives it, checked: a list of phases with positive step and batch counts and a known scene
 * kind (`where` names the file and field in the error).
 */
export function checkLookPhases(look: unknown, where: string): LookPhase[] {
  if (!Array.isArray(look))
    throw new UsageError(
      `${where}: expected a list of look phases ([{"steps": …, "batch": …, …}]), got ${JSON.stringify(look)}`,
    );
  return look.map((p: unknown, i) => {
    const at = `${where}[${i}]`;
    if (typeof p !== "object" || p === null)
      throw new UsageError(`${at}: expected an object, got ${JSON.stringify(p)}`);
    const phase = p as Record<string, unknown>;
    for (const key of ["steps", "batch"])
      if (!Number.isInteger(phase[key]) || (phase[key] as number) < 1)
        throw new UsageError(`${at}.${key}: expected a positive integer, got ${JSON.stringify(phase[key])}`);
    for (const key of ["counts", "imageTokenLoss"])
      if (typeof phase[key] !== "number" || (phase[key] as number) < 0)
        throw new UsageError(`${at}.${key}: expected a number ≥ 0, got ${JSON.stringify(phase[key])}`);
    // Optional integers: absent, or at least `min`.
    for (const [key, min, what] of [
      ["maxObjects", 1, "a positive integer"],
      ["imageTokenLayer", 0, "a layer index ≥ 0"],
    ] as const)
      if (phase[key] !== undefined && (!Number.isInteger(phase[key]) || (phase[key] as number) < min))
        throw new UsageError(`${at}.${key}: expected ${what}, got ${JSON.stringify(phase[key])}`);
    if (phase.mix !== undefined && (typeof phase.mix !== "number" || phase.mix < 0))
      throw new UsageError(`${at}.mix: expected a number ≥ 0, got ${JSON.stringify(phase.mix)}`);
    if (phase.lr !== undefined && (typeof phase.lr !== "number" || phase.lr <= 0))
      throw new UsageError(`${at}.lr: expected a positive number, got ${JSON.stringify(phase.lr)}`);
    checkTrainMode(phase.train, at);
    if (phase.escape !== undefined) checkEscape(phase.escape, phase, `${at}.escape`);
    if (phase.schedule !== undefined && phase.schedule !== "cosine" && phase.schedule !== "constant")
      throw new UsageError(
        `${at}.schedule: expected "cosine" or "constant", got ${JSON.stringify(phase.schedule)}`,
      );
    if (phase.scenes !== "single" && phase.scenes !== "several")
      throw new UsageError(
        `${at}.scenes: expected "single" or "several", got ${JSON.stringify(phase.scenes)}`,
      );
    return phase as unknown as LookPhase;
  });
}

function checkEscape(check: unknown, phase: Record<string, unknown>, at: string): void {
  if (typeof check !== "object" || check === null)
    throw new UsageError(
      `${at}: expected {"by": steps, "below": term, "tries": n}, got ${JSON.stringify(check)}`,
    );
  const e = check as Record<string, unknown>;
  for (const key of ["by", "tries"])
    if (!Number.isInteger(e[key]) || (e[key] as number) < 1)
      throw new UsageError(`${at}.${key}: expected a positive integer, got ${JSON.stringify(e[key])}`);
  if (typeof e.below !== "number" || !(e.below > 0))
    throw new UsageError(`${at}.below: expected a dense term > 0, got ${JSON.stringify(e.below)}`);
  if ((e.by as number) >= (phase.steps as number))
    throw new UsageError(`${at}.by: ${e.by} is not before the phase's last step (${phase.steps})`);
  if (!((phase.imageTokenLoss as number) > 0))
    throw new UsageError(`${at}: judges the dense term, so the phase needs imageTokenLoss > 0`);
}

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
    /**
     * How shapes scenes place their shapes: "free" (the committed model's world), on an 8 × 8 "grid", or "mixed"
     * (scene.ts).
     */
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
    /**
     * Where the image goes in the prompt, written into config.json (`mm_image_placement`) before the first stage,
     * so the trainer and every front end build the prompt that way: "before_text" as the official checkpoints
     * (the committed model), "after_text" for the question first (docs/builtin-model.md, "The question before the
     * image").
     */
    imagePlacement: ImagePlacement;
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
   * Warm-ups between stages 1 and 2 that teach the LLM to look, run in order (none: stage 2 starts from stage 1):
   * each is stage 2's recipe and rates on colour questions, merged into the LLM the next one starts from, its
   * connector passed on. From stage 1, the mix alone never makes a short answer depend on the image; after a
   * warm-up on single-object scenes it does, and a second on scenes of several shapes then has answers that already
   * read the image to bind (docs/builtin-model.md, "Learning to look" and "Two warm-ups").
   */
  look: LookPhase[];
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
    /** Weight of the dense image-token signal on the records that carry `named_boxes` (0: none). */
    imageTokenLoss: number;
    /**
     * What is trained: "lora" (absent; rank/alpha/dropout, merged after) or "full" (every LLM weight and the
     * connector, at `lr` and `connectorLr`), as a look phase's `train`.
     */
    train?: "lora" | "full";
    /**
     * The last look phase's questions kept in stage 2's mix at this weight (absent or 0: none): stage 2 on the mix
     * alone unlearns the binding the look phases taught (rehearsal, docs/builtin-model.md).
     */
    rehearse?: number;
  };
}

/** A look phase's or stage 2's `train` as a plan file gives it, checked (`where` names the file and section). */
export function checkTrainMode(train: unknown, where: string): "lora" | "full" | undefined {
  if (train !== undefined && train !== "lora" && train !== "full")
    throw new UsageError(`${where}.train: expected "lora" or "full", got ${JSON.stringify(train)}`);
  return train;
}

/**
 * Stage 2's `rehearse` as a plan file gives it, checked: absent, or a number ≥ 0, and above 0 only after a look
 * phase (whose questions it keeps in the mix).
 */
export function checkRehearse(rehearse: unknown, lookPhases: number, where: string): number | undefined {
  if (rehearse === undefined) return undefined;
  if (typeof rehearse !== "number" || !Number.isFinite(rehearse) || rehearse < 0)
    throw new UsageError(`${where}.rehearse: expected a number ≥ 0, got ${JSON.stringify(rehearse)}`);
  if (rehearse > 0 && lookPhases === 0)
    throw new UsageError(
      `${where}.rehearse: ${rehearse} needs a look phase whose questions to keep; the plan has none`,
    );
  return rehearse;
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
    imagePlacement: "before_text",
  },
  // A bag-of-words text tower (0 layers): caption retrieval then hinges on the image side, which is the part kept.
  siglip: { steps: 2200, batch: 32, lr: 5e-4, embedDim: 128, textLayers: 0, pooling: "max", patchLoss: 0 },
  lm: { steps: 600, batch: 16, seqLen: 128, lr: 2e-3 },
  stage1: { steps: 200, batch: 32, lr: 1e-3 },
  look: [],
  stage2: {
    steps: 800,
    batch: 32,
    lr: 1e-3,
    connectorLr: 5e-4,
    rank: 32,
    alpha: 64,
    dropout: 0.05,
    weights: { vqa: 1, pope: 0.5, text: 1, chart: 1, mc: 0.3, detail: 0.15, conv: 0.15, caption: 0.05 },
    imageTokenLoss: 0,
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
    // The question-first path end to end in the suite: config key, trainer prompts, answers.
    imagePlacement: "after_text",
  },
  siglip: { ...FULL_PLAN.siglip, steps: 3, batch: 4, embedDim: 32, textLayers: 1, patchLoss: 1 },
  lm: { ...FULL_PLAN.lm, steps: 3, batch: 2, seqLen: 32 },
  stage1: { ...FULL_PLAN.stage1, steps: 2, batch: 4 },
  // The question-first levers on the suite's path: a warm-up on lone shapes, then one that binds among two shapes
  // at most with the whole LLM trained at a constant rate, stage 2's mix beside its questions and an escape check;
  // the dense image-token signal's head passed from phase to phase.
  look: [
    { steps: 1, batch: 2, counts: 0, scenes: "single", imageTokenLoss: 1 },
    {
      steps: 2,
      batch: 2,
      counts: 1,
      scenes: "several",
      maxObjects: 2,
      imageTokenLoss: 1,
      train: "full",
      schedule: "constant",
      mix: 0.5,
      // A bar no try clears: the suite's path tries a second seed and finishes the lower term's.
      escape: { by: 1, below: 1e-9, tries: 2 },
    },
  ],
  // Stage 2 with every LLM weight trained (the look-1 phase keeps the LoRA merge on the suite's path), the last
  // look phase's questions rehearsed in its mix.
  stage2: {
    ...FULL_PLAN.stage2,
    steps: 2,
    batch: 4,
    rank: 4,
    alpha: 8,
    imageTokenLoss: 1,
    train: "full",
    rehearse: 1,
  },
};
