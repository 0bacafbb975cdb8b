/**
 * Which examples each optimizer step sees. Every epoch is a seeded shuffle of all examples (its own stream per
 * epoch, as a distributed sampler reseeds with seed + epoch), cut into global batches in order; the last batch of an
 * epoch may be smaller (the reference does not drop it). The batch of step s depends only on (seed, example count,
 * global batch, s): that is the run's data position, so resuming needs no more than the step number.
 * Fractional epochs and max_steps round as Hugging Face's Trainer: total = max_steps ?? ceil(epochs · steps/epoch).
 *
 * With modality lengths (the recipe's `group_by_modality_length`, as Imp's stage 2), an epoch is ordered as Imp's
 * sampler orders it (imp_llava/train/train.py, `get_modality_length_grouped_indices`): image examples and text-only
 * ones are shuffled apart and cut into global batches, each of one modality, longest first (as the reference's
 * per-device split does with one device; its even-chunk split over several only balances their padding, and our
 * trainer has none); the full batches are shuffled together, and the last image batch and the last text batch,
 * interleaved, end the epoch (one or two batches, mixed).
 */
import { UsageError } from "../util/errors.js";
import { Rng } from "../util/random.js";
import type { DataRecord } from "./records.js";

/** Python's `str.split()` separators: whitespace runs, including the four information separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: Python's str.split() splits on U+001C–U+001F too.
const PY_WHITESPACE = /[\s\x1c-\x1f]+/;

/**
 * The reference's modality lengths: words (as `str.split()` counts them) over all turns, + 700 for an image
 * example (its image tokens, roughly), negated for a text-only one.
 */
export function modalityLengths(
  records: readonly Pick<DataRecord, "image" | "conversations" | "where">[],
): number[] {
  return records.map((r) => {
    const words = r.conversations.reduce(
      (n, t) => n + t.value.split(PY_WHITESPACE).filter((w) => w !== "").length,
      0,
    );
    if (r.image !== null) return words + 700;
    if (words === 0)
      throw new UsageError(
        `${r.where}: a text-only record without a word; group_by_modality_length needs a length`,
      );
    return -words;
  });
}

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
    /** Signed modality lengths (`modalityLengths`), one per example: group batches by modality; else plain shuffles. */
    private readonly lengths: readonly number[] | null = null,
  ) {
    if (examples < 1) throw new UsageError("no training examples");
    if (lengths && lengths.length !== examples)
      throw new Error(`BatchPlan: ${lengths.length} modality lengths for ${examples} examples`);
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
    const all = Array.from({ length: this.examples }, (_, i) => i);
    const order = this.lengths ? this.groupedOrder(all, this.lengths, rng) : rng.shuffle(all);
    this.cached = { epoch, order };
    return order;
  }

  /** Imp's modality-grouped order of one epoch (see the header). */
  private groupedOrder(all: number[], lengths: readonly number[], rng: Rng): number[] {
    const image = all.filter((i) => lengths[i]! > 0);
    const text = all.filter((i) => lengths[i]! < 0);
    if (image.length === 0 || text.length === 0) return this.lengthGrouped(all, lengths, rng).flat();
    const imageBatches = this.lengthGrouped(image, lengths, rng);
    const textBatches = this.lengthGrouped(text, lengths, rng);
    const lastImage = imageBatches.pop()!;
    const lastText = textBatches.pop()!;
    const last: number[] = [];
    for (let i = 0; i < Math.max(lastImage.length, lastText.length); i++) {
      if (i < lastImage.length) last.push(lastImage[i]!);
      if (i < lastText.length) last.push(lastText[i]!);
    }
    return [...rng.shuffle([...imageBatches, ...textBatches]).flat(), ...last];
  }

  /** A shuffle of `indices` cut into global batches, each sorted longest first (stable). */
  private lengthGrouped(indices: number[], lengths: readonly number[], rng: Rng): number[][] {
    const shuffled = rng.shuffle(indices);
    const batches: number[][] = [];
    for (let i = 0; i < shuffled.length; i += this.globalBatch) {
      const batch = shuffled.slice(i, i + this.globalBatch);
      batches.push(batch.sort((a, b) => Math.abs(lengths[b]!) - Math.abs(lengths[a]!)));
    }
    return batches;
  }

  /** Example indices of optimizer step `step` (0-based). */
  batch(step: number): number[] {
    const b = step % this.stepsPerEpoch;
    const from = b * this.globalBatch;
    return this.order(this.epochOf(step)).slice(from, Math.min(from + this.globalBatch, this.examples));
  }
}
