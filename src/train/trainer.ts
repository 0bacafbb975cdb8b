/**
 * One optimizer step over a global batch. Sequences go through the model one at a time (each is its own
 * micro-batch: no padding, memory bounded by one sequence); each one's loss is scaled by 1 / (loss tokens in the
 * whole global batch), so the gradients summed over the batch are those of the token mean over all its assistant
 * tokens. Then: global gradient norm (clipped to max_grad_norm), the schedule's learning rate, AdamW.
 *
 *   for each sequence:  tidy { tape.run { loss_i = Σ CE / N_tokens } ; backward }   (grads accumulate in .grad)
 *   clip ← min(1, max_norm / ‖g‖);  AdamW(lr · schedule(step), g · clip);  zero grads
 *
 * With an image-token head (recipe `image_token_loss`), each sequence's loss also has the head's term over its
 * image tokens, scaled by 1 / (labelled image tokens in the whole global batch): a token mean of its own.
 */

import { IMAGE_TOKEN_INDEX } from "../io/tokenizer/index.js";
import type { MultimodalModel } from "../models/multimodal.js";
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

export interface TrainerOptions {
  maxGradNorm: number;
  maxLength: number;
  /** Called before each sequence (the run's test hooks use it). */
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
    batch.forEach((ex, i) => {
      this.opts.beforeSequence?.(step, i);
      if (ex.targets === 0) return;
      loss += tidy(() => {
        const tape = new Tape();
        const px = ex.pixels
          ? [fromF32(model.backend, ex.pixels, [3, side(ex.pixels), side(ex.pixels)])]
          : [];
        const labels = ex.imageTokenLabels;
        const imageLoss =
          head && labels && labelled > 0
            ? (hidden: Tensor) => head.loss(hidden, labels, 1 / labelled)
            : undefined;
        try {
          const r = tape.run(() =>
            model.sequenceLoss(ex.ids, ex.labels, px, 1 / total, this.opts.maxLength, imageLoss),
          );
          if (r.tokens !== ex.targets)
            throw new ShapeError(`${ex.where}: ${r.tokens} loss tokens in the model, ${ex.targets} counted`);
          const v = r.loss.toF32()[0]!;
          imageTokenLoss += r.imageTokenLoss;
          // Outside tape.run, so the backward's own ops are not recorded. A text-only sequence in connector-only
          // training depends on nothing trainable: nothing to back-propagate.
          if (r.loss.requiresGrad) tape.backward(r.loss);
          return v;
        } finally {
          tape.dispose();
        }
      });
    });
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
function labelledTokens(ex: PreparedExample, maxLength: number): number {
  const labels = ex.imageTokenLabels;
  if (!labels || !ex.pixels) return 0;
  const placeholder = ex.ids.indexOf(IMAGE_TOKEN_INDEX);
  // The image starts after the text before it (each earlier id one position).
  return Math.max(0, Math.min(labels.length, maxLength - placeholder));
}

function side(px: Float32Array): number {
  return Math.round(Math.sqrt(px.length / 3));
}
