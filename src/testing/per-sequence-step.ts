/**
 * TEST-ONLY: the trainer's step as it was before it packed sequences, one sequence at a time through
 * MultimodalModel.sequenceLoss: the reference the packed trainer is checked against (src/train/packed-step.test.ts)
 * and timed against (scripts/bench-stage-step.ts).
 */
import type { MultimodalModel } from "../models/multimodal.js";
import { tidy } from "../tensor/scope.js";
import { Tape } from "../tensor/tape.js";
import type { Tensor } from "../tensor/tensor.js";
import { fromF32 } from "../tensor/tensor.js";
import type { AdamW } from "../train/adamw.js";
import { gradNorm } from "../train/adamw.js";
import type { PreparedExample } from "../train/encode.js";
import type { ImageTokenHead } from "../train/image-token-head.js";
import type { Schedule } from "../train/schedule.js";
import { labelledTokens } from "../train/trainer.js";
import { ShapeError } from "../util/errors.js";

export interface PerSequenceOptions {
  maxLength: number;
  imageTokenHead?: ImageTokenHead;
}

/** Each sequence's loss (scaled by 1 / the batch's loss tokens) back-propagated on its own; returns the loss. */
export function perSequenceBackward(
  model: MultimodalModel,
  batch: readonly PreparedExample[],
  o: PerSequenceOptions,
): number {
  const total = batch.reduce((n, e) => n + e.targets, 0);
  const head = o.imageTokenHead;
  const labelled = head ? batch.reduce((n, e) => n + labelledTokens(e, o.maxLength), 0) : 0;
  let loss = 0;
  for (const ex of batch) {
    if (ex.targets === 0) continue;
    loss += tidy(() => {
      const tape = new Tape();
      const side = ex.pixels ? Math.round(Math.sqrt(ex.pixels.length / 3)) : 0;
      const px = ex.pixels ? [fromF32(model.backend, ex.pixels, [3, side, side])] : [];
      const labels = ex.imageTokenLabels;
      const term =
        head && labels && labelled > 0
          ? (hidden: Tensor) => head.loss(hidden, labels, 1 / labelled)
          : undefined;
      try {
        const r = tape.run(() =>
          model.sequenceLoss(ex.ids, ex.labels, px, 1 / total, o.maxLength, term, head?.layer ?? null),
        );
        if (r.tokens !== ex.targets)
          throw new ShapeError(`${ex.where}: ${r.tokens} loss tokens in the model, ${ex.targets} counted`);
        if (r.loss.requiresGrad) tape.backward(r.loss);
        return r.loss.toF32()[0]!;
      } finally {
        tape.dispose();
      }
    });
  }
  return loss;
}

/** One optimizer step: the per-sequence backward, the clipped global norm, AdamW. */
export function perSequenceStep(
  model: MultimodalModel,
  optimizer: AdamW,
  schedule: Schedule,
  step: number,
  batch: readonly PreparedExample[],
  o: PerSequenceOptions & { maxGradNorm: number },
): { loss: number; gradNorm: number } {
  // Nothing to learn: no update (the trainer's rule).
  if (batch.every((e) => e.targets === 0)) return { loss: 0, gradNorm: 0 };
  optimizer.zeroGrad();
  const loss = perSequenceBackward(model, batch, o);
  const norm = gradNorm(optimizer.params(), o.maxGradNorm);
  optimizer.step(schedule.factor(step), norm.scale);
  optimizer.zeroGrad();
  return { loss, gradNorm: norm.norm };
}
