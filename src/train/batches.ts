/**
 * Which examples each optimizer step sees. Every epoch is a seeded shuffle of all examples (its own stream per
 * epoch, as a distributed sampler reseeds with seed + epoch), cut into global batches in order; the last batch of an
 * epoch may be smaller (the reference does not drop it). The batch of step s depends only on (seed, example count,
 * global batch, s): that is the run's data position, so resuming needs no more than the step number.
 * Fractional epochs and max_steps round as Hugging Face's Trainer: total = max_steps ?? ceil(epochs · steps/epoch).
 */
import { UsageError } from "../util/errors.js";
import { Rng } from "../util/random.js";

export class BatchPlan {
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  private cached: { epoch: number; order: number[] } | null = null;

  constructor(
    readonly examples: number,
    readonly globalBatch: number,
    readonly seed: number,
    epochs: number,
    maxSteps: number | null,
  ) {
    if (examples < 1) throw new UsageError("no training examples");
    this.stepsPerEpoch = Math.ceil(examples / globalBatch);
    this.totalSteps = maxSteps ?? Math.ceil(epochs * this.stepsPerEpoch);
    if (this.totalSteps < 1) throw new UsageError(`epochs = ${epochs} gives no training step`);
  }

  epochOf(step: number): number {
    return Math.floor(step / this.stepsPerEpoch);
  }

  /** The shuffled example order of an epoch. */
  order(epoch: number): number[] {
    if (this.cached?.epoch === epoch) return this.cached.order;
    const rng = new Rng((this.seed * 1000003 + epoch) >>> 0);
    const order = rng.shuffle(Array.from({ length: this.examples }, (_, i) => i));
    this.cached = { epoch, order };
    return order;
  }

  /** Example indices of optimizer step `step` (0-based). */
  batch(step: number): number[] {
    const b = step % this.stepsPerEpoch;
    const from = b * this.globalBatch;
    return this.order(this.epochOf(step)).slice(from, Math.min(from + this.globalBatch, this.examples));
  }
}
