/**
 * Seeded choices for the generators, on top of `Rng`: a uniform pick, a weighted pick, sampling without
 * replacement, and sub-streams so each use of a scene's seed (layout, questions, negatives) draws from its own
 * sequence and changing one never shifts another.
 */
import { Rng } from "../util/random.js";

export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError("pick from an empty list");
  return items[rng.int(items.length)]!;
}

/** Index drawn with probability proportional to `weights[i]`. */
export function weightedIndex(rng: Rng, weights: readonly number[]): number {
  let total = 0;
  for (const w of weights) total += w;
  let u = rng.float() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i]!;
    if (u < 0) return i;
  }
  return weights.length - 1;
}

export function weightedPick<T>(rng: Rng, items: readonly T[], weights: readonly number[]): T {
  return items[weightedIndex(rng, weights)]!;
}

/** `k` distinct items in random order (all of them, shuffled, when k ≥ length). */
export function sample<T>(rng: Rng, items: readonly T[], k: number): T[] {
  const a = [...items];
  rng.shuffle(a);
  return a.slice(0, Math.min(k, a.length));
}

/** Integer uniform in [lo, hi] (both included). */
export function intIn(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

/** Bernoulli(p). */
export function chance(rng: Rng, p: number): boolean {
  return rng.float() < p;
}

/** Named sub-streams of a seed: the same (seed, stream) always gives the same sequence. */
export const STREAM = {
  scene: 0x5ce7e,
  questions: 0x9a11,
  negatives: 0x7e6a,
  corpus: 0xc0de,
  mc: 0x3c3c,
  layout: 0x1a70,
} as const;

/** An Rng for one use of a seed; mixing keeps nearby seeds' streams unrelated. */
export function rngFor(seed: number, stream: number): Rng {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stream, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h ^= h >>> 12;
  return new Rng(h >>> 0);
}
