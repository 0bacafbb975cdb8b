/**
 * A training run from a recipe, start to finish: resolve the data mixture, load the base, set up what is trained,
 * then step through the planned batches with checkpoints, metrics and a progress line, and write the outputs.
 *
 * OUTPUT/
 *   train_config.json          the resolved recipe          mixture.resolved.json   ids per source
 *   metrics.jsonl  curve.svg   per-step metrics, picture    run.json                summary at the end
 *   checkpoints/step-N/        resumable state (run-state.ts)
 *   mm_projector.safetensors   the connector (every mode: stage 1's product, stage 2's trained connector)
 *   adapter_model.safetensors + adapter_config.json          (lora: PEFT layout; `imp merge` folds them in)
 *   model/                     (full: a whole checkpoint in the base's layout)
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Backend } from "../backend/backend.js";
import { createBackend } from "../backend/registry.js";
import { imageSpecFor } from "../io/image/image-spec.js";
import { templateForModelType } from "../io/template/index.js";
import { Tokenizer } from "../io/tokenizer/index.js";
import { loadModel } from "../models/load.js";
import type { MultimodalModel } from "../models/multimodal.js";
import { writeAtomic, writeJsonAtomic } from "../util/atomic-file.js";
import { FormatError, UsageError } from "../util/errors.js";
import { Rng } from "../util/random.js";
import { AdamW } from "./adamw.js";
import { BatchPlan, modalityLengths } from "./batches.js";
import { CONNECTOR_FILE, initConnector, saveConnector } from "./connector-weights.js";
import { curveSvg } from "./curve.js";
import type { PreparedExample } from "./encode.js";
import { chooseTemplate, Encoder } from "./encode.js";
import { exportCheckpoint } from "./export-checkpoint.js";
import { IMAGE_TOKEN_HEAD_FILE, ImageTokenHead } from "./image-token-head.js";
import { MetricsLog, readMetrics } from "./metrics.js";
import type { Example, MixtureSpec, ResolvedMixture } from "./mixture.js";
import {
  describeBad,
  mixtureFingerprint,
  mixtureToJson,
  readMixtureFile,
  resolveMixture,
} from "./mixture.js";
import { saveAdapter } from "./peft.js";
import type { ProgressSink } from "./progress.js";
import { TrainProgress } from "./progress.js";
import type { Recipe } from "./recipe.js";
import { recipeToJson } from "./recipe.js";
import type { RunState } from "./run-state.js";
import { latestCheckpoint, loadRunCheckpoint, readRunState, saveRunCheckpoint } from "./run-state.js";
import { makeSchedule } from "./schedule.js";
import type { TrainableSetup } from "./trainable.js";
import { setupTrainable } from "./trainable.js";
import { Trainer } from "./trainer.js";

export interface RunOptions {
  /** Continue from the newest checkpoint in the output folder (start fresh when there is none). */
  resume?: boolean;
  /** Where the progress line and messages go (default stderr). */
  sink?: ProgressSink;
  /** A backend to train on instead of the recipe's (tests share one). */
  backend?: Backend;
  /**
   * End after this step, with a checkpoint there and none of the run's outputs: a caller that decides from the
   * first steps' metrics whether the run is worth finishing resumes it later (the same run, bit for bit).
   */
  stopAfter?: number;
}

export interface RunSummary {
  output: string;
  steps: number;
  resumedFrom: number | null;
  finalLoss: number | null;
  skippedRecords: number;
  outputs: string[];
  /** The step `stopAfter` ended the run at, before its last (null: it ran to the end). */
  stoppedAt: number | null;
}

/** Recipe fields a resumed run must share with the run it continues (they change the math). */
const FINGERPRINT_KEYS: ReadonlyArray<keyof Recipe> = [
  "stage",
  "train",
  "template",
  "connectorInit",
  "lora",
  "lr",
  "connectorLr",
  "globalBatch",
  "groupByModalityLength",
  "epochs",
  "maxSteps",
  "schedule",
  "warmupRatio",
  "weightDecay",
  "adamBeta1",
  "adamBeta2",
  "adamEps",
  "maxGradNorm",
  "imageTokenLoss",
  "imageTokenLayer",
  "imageTokenHeadInit",
  "maxLength",
  "seed",
  "baseDtype",
];

/** Fingerprint keys added after runs were saved without them, with the value those runs had. */
const LEGACY_FINGERPRINT: Record<string, unknown> = {
  groupByModalityLength: false,
  imageTokenLoss: 0,
  imageTokenLayer: null,
  imageTokenHeadInit: null,
};

export function loadMixture(r: Recipe): ResolvedMixture {
  const { spec, dir, where } =
    typeof r.data === "string"
      ? { ...readMixtureFile(r.data), where: r.data }
      : { spec: r.data as MixtureSpec, dir: resolve("."), where: "recipe: data" };
  return resolveMixture(spec, { dir, where, seed: r.seed, skipBad: r.skipBad });
}

/** Test hook (kill-and-resume test): IMP_TRAIN_TEST_HANG="STEP:SEQ" blocks the process there until killed. */
function hangHook(): ((step: number, index: number) => void) | undefined {
  const v = process.env.IMP_TRAIN_TEST_HANG;
  if (!v) return undefined;
  const [s, i] = v.split(":").map(Number);
  return (step, index) => {
    if (step !== s || index !== i) return;
    process.stderr.write("imp-train: test hang\n");
    const cell = new Int32Array(new SharedArrayBuffer(4));
    for (;;) Atomics.wait(cell, 0, 0, 60_000);
  };
}

export async function runTraining(recipe: Recipe, opts: RunOptions = {}): Promise<RunSummary> {
  const out = recipe.output;
  const sink = opts.sink ?? process.stderr;
  const say = (s: string) => sink.write(`${s}\n`);
  const checkpoint = latestCheckpoint(out);
  if (checkpoint && !opts.resume)
    throw new UsageError(
      `${out} already holds checkpoints of a run (${checkpoint}); pass --resume to continue it, or choose another output`,
    );
  mkdirSync(out, { recursive: true });

  const mixture = loadMixture(recipe);
  if (mixture.bad.length > 0)
    say(`skipping ${mixture.bad.length} bad record(s) (--skip-bad):\n${describeBad(mixture.bad)}`);
  const backend =
    opts.backend ?? (await createBackend(recipe.backend, { threads: recipe.threads ?? undefined }));
  let model: MultimodalModel | null = null;
  let imageTokenHead: ImageTokenHead | null = null;
  try {
    const loaded = await loadModel(recipe.base, { backend, dtype: recipe.baseDtype });
    model = loaded.model;
    const tokenizer = await Tokenizer.fromFolder(recipe.base);
    const template = chooseTemplate(recipe.template, templateForModelType(loaded.config.modelType));
    const maxLength = recipe.maxLength ?? loaded.config.maxLength;
    const encoder = new Encoder({
      tokenizer,
      template,
      imageSpec: await imageSpecFor(model.config, recipe.base, loaded.towerFolder),
      imageTokens: model.imageTokens,
      imagePlacement: loaded.config.imagePlacement,
      maxLength,
    });

    let validationSkipped = 0;
    if (recipe.validateImages) {
      const before = mixture.examples.length;
      mixture.examples = await validateExamples(encoder, mixture.examples, recipe.skipBad, say);
      validationSkipped = before - mixture.examples.length;
    }

    const rng = new Rng(recipe.seed);
    initConnector(model, recipe.connectorInit, rng);
    const setup = setupTrainable(model, { ...recipe, mode: recipe.train }, rng);
    model.setTraining(true);
    if (recipe.imageTokenLoss > 0 && loaded.config.imagePlacement !== "after_text")
      throw new UsageError(
        `image_token_loss = ${recipe.imageTokenLoss} needs the question before the image (the base's config.json ` +
          `"mm_image_placement": "after_text"); with the image first its tokens cannot see what the question names`,
      );
    const layers = model.config.llm.layers;
    if (recipe.imageTokenLayer !== null && recipe.imageTokenLayer >= layers)
      throw new UsageError(
        `image_token_layer = ${recipe.imageTokenLayer}: the base's LLM has ${layers} layers (0–${layers - 1})`,
      );
    if (recipe.imageTokenHeadInit !== null && recipe.imageTokenLoss === 0)
      throw new UsageError(
        `image_token_head_init = ${recipe.imageTokenHeadInit} needs the dense image-token signal (image_token_loss > 0)`,
      );
    imageTokenHead =
      recipe.imageTokenLoss > 0
        ? new ImageTokenHead(backend, model.config.llm.hidden, recipe.imageTokenLoss, recipe.imageTokenLayer)
        : null;
    if (recipe.imageTokenHeadInit !== null) imageTokenHead?.load(recipe.imageTokenHeadInit);
    const optimizer = new AdamW(
      [...setup.groups, ...(imageTokenHead ? [imageTokenHead.group(recipe.lr)] : [])],
      {
        beta1: recipe.adamBeta1,
        beta2: recipe.adamBeta2,
        eps: recipe.adamEps,
      },
    );
    const lengths = recipe.groupByModalityLength
      ? modalityLengths(mixture.examples.map((e) => e.record))
      : null;
    const plan = new BatchPlan(
      mixture.examples.length,
      recipe.globalBatch,
      recipe.seed,
      recipe.epochs,
      recipe.maxSteps,
      lengths,
    );
    const schedule = makeSchedule(recipe.schedule, plan.totalSteps, recipe.warmupRatio);
    const fingerprint: Record<string, unknown> = {
      base: resolve(recipe.base),
      mixture: mixtureFingerprint(mixture),
    };
    for (const k of FINGERPRINT_KEYS) fingerprint[k] = recipe[k];

    let counters: RunState["counters"] = { targets: 0, positions: 0, skipped: 0, elapsedMs: 0 };
    let start = 0;
    const metrics = new MetricsLog(join(out, "metrics.jsonl"));
    if (checkpoint) {
      const saved = readRunState(checkpoint);
      // A run saved before a key existed ran with its default.
      saved.fingerprint = { ...LEGACY_FINGERPRINT, ...saved.fingerprint };
      const diff = Object.keys(fingerprint).filter(
        (k) => JSON.stringify(fingerprint[k]) !== JSON.stringify(saved.fingerprint[k]),
      );
      if (diff.length > 0)
        throw new UsageError(
          `cannot resume ${checkpoint}: ${diff
            .map(
              (k) =>
                `${k} was ${JSON.stringify(saved.fingerprint[k])}, now ${JSON.stringify(fingerprint[k])}`,
            )
            .join("; ")}`,
        );
      const state = loadRunCheckpoint(checkpoint, optimizer);
      rng.setState(state.rng);
      start = state.step;
      counters = state.counters;
      say(`resuming from ${checkpoint} (step ${start} of ${plan.totalSteps})`);
    } else if (opts.resume) say(`no checkpoint in ${out}; starting from step 0`);
    metrics.truncate(start);
    writeJsonAtomic(join(out, "train_config.json"), recipeToJson(recipe));
    writeJsonAtomic(join(out, "mixture.resolved.json"), mixtureToJson(mixture));

    const params = optimizer.params().reduce((n, p) => n + p.tensor.numel, 0);
    say(
      `training ${setup.mode}: ${params.toLocaleString("en-US")} parameters in ${setup.groups.length} group(s); ` +
        `${mixture.examples.length} examples, global batch ${recipe.globalBatch}, ${plan.totalSteps} steps ` +
        `(${plan.stepsPerEpoch}/epoch), warmup ${schedule.warmup}, backend ${backend.name}×${backend.threads}` +
        (lengths
          ? `; batches grouped by modality (${lengths.filter((l) => l > 0).length} with an image, ` +
            `${lengths.filter((l) => l < 0).length} text-only)`
          : ""),
    );
    const trainer = new Trainer(model, optimizer, schedule, {
      maxGradNorm: recipe.maxGradNorm,
      maxLength,
      beforeSequence: hangHook(),
      ...(imageTokenHead ? { imageTokenHead } : {}),
    });
    const progress = new TrainProgress(plan.totalSteps, start, recipe.logEvery, sink);
    let lastLoss: number | null = null;
    const stopAfter =
      opts.stopAfter !== undefined && opts.stopAfter < plan.totalSteps ? opts.stopAfter : null;
    const summaryOf = (stoppedAt: number | null, outputs: string[], finalLoss = lastLoss): RunSummary => ({
      output: out,
      steps: plan.totalSteps,
      resumedFrom: checkpoint ? start : null,
      finalLoss,
      skippedRecords: mixture.bad.length + validationSkipped + counters.skipped,
      outputs,
      stoppedAt,
    });
    if (stopAfter !== null && start >= stopAfter) {
      say(`${out}: at step ${start}, past ${stopAfter}; nothing to do before it`);
      return summaryOf(start, []);
    }
    for (let step = start; step < plan.totalSteps; step++) {
      const t0 = performance.now();
      const { batch, skipped } = await prepareBatch(
        encoder,
        plan.batch(step).map((i) => mixture.examples[i]!),
        recipe.skipBad,
        (s) => progress.message(s),
      );
      const r = trainer.step(step, batch);
      const ms = performance.now() - t0;
      counters = {
        targets: counters.targets + r.targets,
        positions: counters.positions + r.positions,
        skipped: counters.skipped + skipped,
        elapsedMs: counters.elapsedMs + ms,
      };
      if (!r.empty) lastLoss = r.loss;
      metrics.append({
        step: step + 1,
        epoch: Number(((step + 1) / plan.stepsPerEpoch).toFixed(4)),
        loss: r.loss,
        ...(imageTokenHead ? { image_token_loss: r.imageTokenLoss } : {}),
        lr: r.lr,
        grad_norm: r.gradNorm,
        tokens: r.targets,
        positions: r.positions,
        sequences: r.sequences,
        skipped,
        ms: Math.round(ms),
        tokens_per_s: Math.round((r.positions / ms) * 1000),
      });
      progress.update(step + 1, { loss: r.loss, lr: r.lr, positions: r.positions });
      if ((step + 1) % recipe.saveEvery === 0 || step + 1 === plan.totalSteps || step + 1 === stopAfter) {
        const state: RunState = {
          version: 1,
          step: step + 1,
          totalSteps: plan.totalSteps,
          optimizerSteps: optimizer.steps,
          rng: rng.state(),
          fingerprint,
          counters,
        };
        const dir = saveRunCheckpoint(out, optimizer, state, recipe.keepCheckpoints);
        progress.message(`checkpoint ${dir}`);
      }
      if (step + 1 === stopAfter) {
        progress.finish();
        say(`stopped after step ${stopAfter} of ${plan.totalSteps}; --resume continues the run`);
        return summaryOf(stopAfter, []);
      }
    }
    progress.finish();

    const outputs = writeOutputs(recipe, model, setup, imageTokenHead);
    const all = readMetrics(join(out, "metrics.jsonl"));
    writeAtomic(
      join(out, "curve.svg"),
      curveSvg(all, `${recipe.output}: stage ${recipe.stage} (${recipe.train})`),
    );
    outputs.push(join(out, "curve.svg"));
    const summary = summaryOf(null, outputs, lastLoss ?? all.filter((m) => m.tokens > 0).pop()?.loss ?? null);
    writeJsonAtomic(join(out, "run.json"), {
      ...summary,
      loss_tokens: counters.targets,
      positions: counters.positions,
      train_ms: Math.round(counters.elapsedMs),
    });
    say(
      `done: ${plan.totalSteps} steps, final loss ${summary.finalLoss?.toFixed(4) ?? "n/a"}; wrote ${outputs.join(", ")}`,
    );
    return summary;
  } finally {
    imageTokenHead?.dispose();
    model?.dispose();
    if (!opts.backend) backend.dispose();
  }
}

/**
 * Encodes a batch's records (tokens, labels, images). A record that cannot be used (unreadable image, a chat the
 * template cannot render) stops the run naming it, or with skip_bad is left out and counted.
 */
export async function prepareBatch(
  encoder: Encoder,
  examples: readonly Example[],
  skipBad: boolean,
  report: (s: string) => void,
): Promise<{ batch: PreparedExample[]; skipped: number }> {
  const batch: PreparedExample[] = [];
  let skipped = 0;
  for (const e of examples) {
    try {
      batch.push(await encoder.encode(e.record));
    } catch (err) {
      if (!(err instanceof FormatError) || !skipBad) {
        if (err instanceof FormatError)
          throw new FormatError(`${err.message}\nFix the record, or pass --skip-bad to skip such records.`, {
            cause: err,
          });
        throw err;
      }
      skipped++;
      report(`skipped bad record: ${err.message}`);
    }
  }
  return { batch, skipped };
}

/**
 * validate_images: encodes every distinct record once before training, so an unreadable image stops the run at
 * once (or, with skip_bad, is left out before the batches are planned) instead of when its batch comes.
 */
async function validateExamples(
  encoder: Encoder,
  examples: readonly Example[],
  skipBad: boolean,
  say: (s: string) => void,
): Promise<Example[]> {
  const bad = new Set<Example["record"]>();
  const seen = new Set<Example["record"]>();
  for (const e of examples) {
    if (seen.has(e.record)) continue;
    seen.add(e.record);
    const { skipped } = await prepareBatch(encoder, [e], skipBad, say);
    if (skipped > 0) bad.add(e.record);
  }
  return examples.filter((e) => !bad.has(e.record));
}

/** The run's products (see the file header); returns their paths. */
function writeOutputs(
  recipe: Recipe,
  model: MultimodalModel,
  setup: TrainableSetup,
  imageTokenHead: ImageTokenHead | null,
): string[] {
  const out = recipe.output;
  const written: string[] = [];
  saveConnector(model, join(out, CONNECTOR_FILE));
  written.push(join(out, CONNECTOR_FILE));
  if (imageTokenHead) {
    imageTokenHead.save(join(out, IMAGE_TOKEN_HEAD_FILE));
    written.push(join(out, IMAGE_TOKEN_HEAD_FILE));
  }
  if (setup.mode === "lora") {
    saveAdapter(out, setup.adapters, recipe.lora, resolve(recipe.base));
    written.push(join(out, "adapter_model.safetensors"), join(out, "adapter_config.json"));
  }
  if (setup.mode === "full") {
    const dir = join(out, "model");
    if (existsSync(dir)) rmSync(dir, { recursive: true });
    const trained = new Map(setup.groups.flatMap((g) => g.params).map((p) => [p.name, p.tensor]));
    exportCheckpoint(
      recipe.base,
      dir,
      (name) => {
        const t = trained.get(name);
        return t ? { replace: t.toF32() } : null;
      },
      { names: [...trained.keys()] },
    );
    written.push(dir);
  }
  return written;
}
