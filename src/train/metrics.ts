/**
 * metrics.jsonl: one JSON object per optimizer step (loss, lr, gradient norm, tokens, time), appended as the run
 * goes. On resume the file is cut back to the steps the checkpoint covers (a killed run may have logged steps, or
 * half a line, after its last checkpoint), so the log of a resumed run reads as one uninterrupted run.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { writeAtomic } from "../util/atomic-file.js";

export interface StepMetrics {
  step: number;
  epoch: number;
  loss: number;
  /** The dense image-token term's part of `loss`, when the run has one (recipe `image_token_loss`). */
  image_token_loss?: number;
  lr: number;
  grad_norm: number;
  /** Loss tokens of the batch. */
  tokens: number;
  /** Positions the model ran over (image tokens included). */
  positions: number;
  sequences: number;
  skipped: number;
  ms: number;
  tokens_per_s: number;
}

export function readMetrics(file: string): StepMetrics[] {
  if (!existsSync(file)) return [];
  const out: StepMetrics[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line) as StepMetrics);
    } catch {
      // A line cut short by a kill.
    }
  }
  return out;
}

export class MetricsLog {
  constructor(readonly file: string) {}

  /** Keeps the steps ≤ `step` (a fresh run: none). */
  truncate(step: number): void {
    const kept = readMetrics(this.file).filter((m) => m.step <= step);
    writeAtomic(this.file, kept.map((m) => `${JSON.stringify(m)}\n`).join(""));
  }

  append(m: StepMetrics): void {
    appendFileSync(this.file, `${JSON.stringify(m)}\n`);
  }
}
