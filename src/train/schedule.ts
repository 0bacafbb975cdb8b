/**
 * Learning-rate schedules with linear warmup, as Hugging Face's get_*_schedule_with_warmup (transformers
 * optimization.py) compute them: the multiplier for optimizer step s (0-based) is s / warmup during warmup, then
 * cosine (half a period) or linear decay to 0 at the last step. warmup = ceil(total · warmup_ratio), as
 * TrainingArguments.get_warmup_steps. Like the reference, the very first step of a warmup has lr 0.
 */
import type { ScheduleName } from "./recipe.js";

export interface Schedule {
  readonly total: number;
  readonly warmup: number;
  /** Multiplier of the base learning rate at optimizer step `step` (0-based). */
  factor(step: number): number;
}

export function warmupSteps(total: number, ratio: number): number {
  return Math.ceil(total * ratio);
}

export function makeSchedule(name: ScheduleName, total: number, warmupRatio: number): Schedule {
  const warmup = warmupSteps(total, warmupRatio);
  return {
    total,
    warmup,
    factor(step: number): number {
      if (step < warmup) return step / Math.max(1, warmup);
      if (name === "constant") return 1;
      const progress = (step - warmup) / Math.max(1, total - warmup);
      if (name === "linear") return Math.max(0, (total - step) / Math.max(1, total - warmup));
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
    },
  };
}
