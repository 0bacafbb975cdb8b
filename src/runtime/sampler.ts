/**
 * Choosing the next token from logits, in Hugging Face's order: repetition penalty → (greedy: argmax) →
 * temperature → top-k → top-p → a draw from a seeded generator. Ties in argmax go to the lowest id, as
 * torch.argmax does.
 */
import { UsageError } from "../util/errors.js";
import { Rng } from "../util/random.js";

export interface SamplingOptions {
  /** 0 (default) = greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  /** > 1 penalises tokens already in the prompt or the answer (HF's RepetitionPenaltyLogitsProcessor). */
  repetitionPenalty?: number;
  seed?: number;
}

export function validateSampling(o: SamplingOptions): void {
  const bad = (what: string) => {
    throw new UsageError(what);
  };
  if (o.temperature !== undefined && !(o.temperature >= 0))
    bad(`temperature must be ≥ 0, got ${o.temperature}`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0))
    bad(`top_k must be an integer ≥ 0, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) bad(`top_p must be in (0, 1], got ${o.topP}`);
  if (o.repetitionPenalty !== undefined && !(o.repetitionPenalty > 0))
    bad(`repetition_penalty must be > 0, got ${o.repetitionPenalty}`);
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bv = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

export class Sampler {
  private readonly rng: Rng;
  constructor(readonly opts: SamplingOptions = {}) {
    validateSampling(opts);
    this.rng = new Rng(opts.seed ?? 0);
  }

  get greedy(): boolean {
    return !this.opts.temperature;
  }

  /** Picks a token; `seen` are the ids so far (prompt + generated) for the repetition penalty. Modifies logits. */
  sample(logits: Float32Array, seen: Iterable<number>): number {
    const rp = this.opts.repetitionPenalty ?? 1;
    if (rp !== 1) {
      for (const id of new Set(seen)) {
        if (id < 0 || id >= logits.length) continue;
        const v = logits[id]!;
        logits[id] = v < 0 ? v * rp : v / rp;
      }
    }
    if (this.greedy) return argmax(logits);
    const t = this.opts.temperature!;
    // Candidates sorted by logit (descending); keep top-k, then the smallest prefix with mass ≥ top-p.
    let idx = Array.from({ length: logits.length }, (_, i) => i);
    idx.sort((a, b) => logits[b]! - logits[a]! || a - b);
    const k = this.opts.topK ?? 0;
    if (k > 0 && k < idx.length) idx = idx.slice(0, k);
    const max = logits[idx[0]!]! / t;
    let probs = idx.map((i) => Math.exp(logits[i]! / t - max));
    let sum = probs.reduce((a, b) => a + b, 0);
    const p = this.opts.topP ?? 1;
    if (p < 1) {
      let acc = 0;
      let keep = 0;
      while (keep < probs.length) {
        acc += probs[keep]! / sum;
        keep++;
        if (acc >= p) break;
      }
      idx = idx.slice(0, keep);
      probs = probs.slice(0, keep);
      sum = probs.reduce((a, b) => a + b, 0);
    }
    let r = this.rng.float() * sum;
    for (let i = 0; i < idx.length; i++) {
      r -= probs[i]!;
      if (r < 0) return idx[i]!;
    }
    return idx[idx.length - 1]!;
  }
}
