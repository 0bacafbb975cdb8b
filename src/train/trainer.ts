/**
 * One optimizer step over a global batch. The sequences go through the model packed into micro-batches of at most
 * `microBatchPositions` rows (models/packed-loss.ts: one pass per micro-batch, every product over all its rows, no
 * padding, each sequence attending only to itself; memory bounded by the budget, a longer sequence alone). The loss
 * is scaled by 1 / (loss tokens in the whole global batch), so the gradients summed over the micro-batches are those
 * of the token mean over all its assistant tokens. Then: global gradient norm (clipped to max_grad_norm), the
 * schedule's learning rate, AdamW.
 *
 *   for each micro-batch:  tidy { tape.run { loss = Σ CE / N_tokens } ; backward }   (grads accumulate in .grad)
 *   clip ← min(1, max_norm / ‖g‖);  AdamW(lr · schedule(step), g · clip);  zero grads
 *
 * With an image-token head (recipe `image_token_loss`), each sequence's loss also has the head's term over its
 * image tokens, scaled by 1 / (labelled image tokens in the whole global batch): a token mean of its own.
 */

import { IMAGE_TOKEN_INDEX } from "../io/tokenizer/index.js";
import type { MultimodalModel } from "../models/multimodal.js";
import { packedLoss } from "../models/packed-loss.js";
import { tidy } from "../tensor/scope.js";
import { Tape } from "../tensor/tape.js";
import type { Tensor } from "../tensor/tensor.js";
import { fromF32 } from "../tensor/tensor.js";
import { ShapeError } from "../util/errors.js";
import type { AdamW } from "./adamw.js";
import { gradNorm } from "./adamw.js";
import type { PreparedExample } from "./encode.js";
import type { ImageTokenHead } from "./image-token-head.js";
import type { Schedule } from "./schedule.js";

export interface StepResult {
  /** Token-mean loss of the batch (before the update), the image-token term included. */
  loss: number;
  /** The image-token term's part of `loss` (0 without an image-token head). */
  imageTokenLoss: number;
  /** Loss tokens in the batch. */
  targets: number;
  /** Positions run through the model (all sequences, image tokens included). */
  positions: number;
  sequences: number;
  gradNorm: number;
  /** Learning rate of the first parameter group at this step. */
  lr: number;
  /** True when the batch had no loss token (nothing to learn; the schedule still advances). */
  empty: boolean;
  ms: number;
}

/**
 * Rows packed into one pass by default: enough for every product to run at full speed (a few hundred rows do), few
 * enough that what a pass keeps for its backward stays in the hundreds of MB for the built-in model.
 */
export const MICRO_BATCH_POSITIONS = 2048;

export interface TrainerOptions {
  maxGradNorm: number;
  maxLength: number;
  /** Rows (spliced positions) per packed pass; MICRO_BATCH_POSITIONS when omitted. */
  microBatchPositions?: number;
  /** Called before each sequence's micro-batch runs (the run's test hooks use it). */
  beforeSequence?: (step: number, index: number) => void;
  /** The dense image-token signal's head (image-token-head.ts), trained beside the answers. */
  imageTokenHead?: ImageTokenHead;
}

export class Trainer {
  constructor(
    readonly model: MultimodalModel,
    readonly optimizer: AdamW,
    readonly schedule: Schedule,
    readonly opts: TrainerOptions,
  ) {}

  /** Runs optimizer step `step` (0-based; it picks the learning rate) on `batch`. */
  step(step: number, batch: readonly PreparedExample[]): StepResult {
    const t0 = performance.now();
    const { model, optimizer } = this;
    const total = batch.reduce((n, e) => n + e.targets, 0);
    const positions = batch.reduce((n, e) => n + e.positions, 0);
    const factor = this.schedule.factor(step);
    const lr = (optimizer.groups[0]?.lr ?? 0) * factor;
    let loss = 0;
    let imageTokenLoss = 0;
    if (total === 0) {
      // Nothing to learn (every label masked, or every record skipped): no update, no NaN; the schedule moves on.
      return {
        loss: 0,
        imageTokenLoss: 0,
        targets: 0,
        positions,
        sequences: batch.length,
        gradNorm: 0,
        lr,
        empty: true,
        ms: 0,
      };
    }
    const head = this.opts.imageTokenHead;
    const labelled = head ? batch.reduce((n, e) => n + labelledTokens(e, this.opts.maxLength), 0) : 0;
    optimizer.zeroGrad();
    for (const micro of microBatches(batch, this.opts.microBatchPositions ?? MICRO_BATCH_POSITIONS)) {
      for (const i of micro.indices) this.opts.beforeSequence?.(step, i);
      const exs = micro.indices.map((i) => batch[i]!).filter((ex) => ex.targets > 0);
      if (exs.length === 0) continue;
      loss += tidy(() => {
        const tape = new Tape();
        const seqs = exs.map((ex) => {
          const labels = ex.imageTokenLabels;
          return {
            ids: ex.ids,
            labels: ex.labels,
            images: ex.pixels
              ? [fromF32(model.backend, ex.pixels, [3, side(ex.pixels), side(ex.pixels)])]
              : [],
            imageTokenLoss:
              head && labels && labelled > 0
                ? (hidden: Tensor) => head.loss(hidden, labels, 1 / labelled)
                : undefined,
          };
        });
        try {
          const r = tape.run(() =>
            packedLoss(model, seqs, 1 / total, this.opts.maxLength, head?.layer ?? null),
          );
          exs.forEach((ex, j) => {
            if (r.tokens[j] !== ex.targets)
              throw new ShapeError(
                `${ex.where}: ${r.tokens[j]} loss tokens in the model, ${ex.targets} counted`,
              );
          });
          const v = r.loss.toF32()[0]!;
          imageTokenLoss += r.imageTokenLoss;
          // Outside tape.run, so the backward's own ops are not recorded. Text-only sequences in connector-only
          // training depend on nothing trainable: nothing to back-propagate.
          if (r.loss.requiresGrad) tape.backward(r.loss);
          return v;
        } finally {
          tape.dispose();
        }
      });
    }
    const norm = gradNorm(optimizer.params(), this.opts.maxGradNorm);
    optimizer.step(factor, norm.scale);
    optimizer.zeroGrad();
    return {
      loss,
      imageTokenLoss,
      targets: total,
      positions,
      sequences: batch.length,
      gradNorm: norm.norm,
      lr,
      empty: false,
      ms: performance.now() - t0,
    };
  }
}

/** Image tokens of an example that carry labels and are inside the model's cut of the sequence. */
export function labelledTokens(ex: PreparedExample, maxLength: number): number {
  const labels = ex.imageTokenLabels;
  // A sequence without answer tokens is skipped whole, its image-token term with it.
  if (!labels || !ex.pixels || ex.targets === 0) return 0;
  const placeholder = ex.ids.indexOf(IMAGE_TOKEN_INDEX);
  // The image starts after the text before it (each earlier id one position).
  return Math.max(0, Math.min(labels.length, maxLength - placeholder));
}

/**
 * The batch cut into runs of consecutive sequences of at most `budget` positions each (a longer one alone); every
 * index appears once, in order, sequences without loss tokens included (the trainer skips them).
 */
export function microBatches(
  batch: readonly PreparedExample[],
  budget: number,
): Array<{ indices: number[]; positions: number }> {
  const out: Array<{ indices: number[]; positions: number }> = [];
  let cur: { indices: number[]; positions: number } | null = null;
  batch.forEach((ex, i) => {
    const n = ex.targets > 0 ? ex.positions : 0;
    if (!cur || (cur.positions > 0 && cur.positions + n > budget)) {
      cur = { indices: [], positions: 0 };
      out.push(cur);
    }
    cur.indices.push(i);
    cur.positions += n;
  });
  return out;
}

function side(px: Float32Array): number {
  return Math.round(Math.sqrt(px.length / 3));
}
