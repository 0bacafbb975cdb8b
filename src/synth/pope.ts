/**
 * POPE-style existence questions ("Is there a red circle in the image?") with POPE's three ways of choosing
 * absent objects (Li et al. 2023, "Evaluating Object Hallucination in Large Vision-Language Models"), where an
 * object category here is a colour–shape pair (80 of them, as COCO has 80):
 * - random: any category absent from the image, uniformly;
 * - popular: the absent categories that appear in the most images of the dataset;
 * - adversarial: the absent categories that co-occur most often with the image's own categories (summed over
 *   them), e.g. a red star beside a red circle and a blue star.
 * Statistics are counted over the scenes of the set being built (as POPE counts over its evaluation images),
 * and ties break by the fixed category order, so every list is reproducible.
 */
import type { Rng } from "../util/random.js";
import { article } from "./language.js";
import { COLOR_NAMES } from "./palette.js";
import { sample } from "./sampling.js";
import { categoryOf, type Scene } from "./scene.js";
import { SHAPE_NAMES } from "./shapes.js";

export const POPE_KINDS = ["adversarial", "popular", "random"] as const;
export type PopeKind = (typeof POPE_KINDS)[number];

/** Every category, colour-major: the tie-break order. */
export const CATEGORIES: readonly string[] = COLOR_NAMES.flatMap((c) => SHAPE_NAMES.map((s) => `${c} ${s}`));
const INDEX = new Map(CATEGORIES.map((c, i) => [c, i]));

/** The distinct categories of a scene's shapes, in category order. */
export function presentCategories(scene: Scene): string[] {
  return [...new Set(scene.objects.map(categoryOf))].sort((a, b) => INDEX.get(a)! - INDEX.get(b)!);
}

export interface PopeStats {
  /** Images containing each category. */
  freq: Float64Array;
  /** cooc[i * C + j]: images containing both i and j (i ≠ j). */
  cooc: Float64Array;
}

export function popeStats(scenes: Iterable<Scene>): PopeStats {
  const C = CATEGORIES.length;
  const freq = new Float64Array(C);
  const cooc = new Float64Array(C * C);
  for (const s of scenes) {
    const ids = presentCategories(s).map((c) => INDEX.get(c)!);
    for (const i of ids) {
      freq[i]!++;
      for (const j of ids) if (i !== j) cooc[i * C + j]!++;
    }
  }
  return { freq, cooc };
}

/** Categories ranked for a kind of negative, best first (random: not ranked). */
function ranked(kind: "popular" | "adversarial", present: readonly string[], stats: PopeStats): string[] {
  const C = CATEGORIES.length;
  const score = new Float64Array(C);
  if (kind === "popular") score.set(stats.freq);
  else {
    for (const p of present) {
      const i = INDEX.get(p)!;
      for (let j = 0; j < C; j++) score[j]! += stats.cooc[i * C + j]!;
    }
  }
  return CATEGORIES.map((_, i) => i)
    .sort((a, b) => score[b]! - score[a]! || a - b)
    .map((i) => CATEGORIES[i]!);
}

/** `k` absent categories of `scene` chosen the POPE way. */
export function popeNegatives(kind: PopeKind, scene: Scene, stats: PopeStats, k: number, rng: Rng): string[] {
  const present = presentCategories(scene);
  const isAbsent = (c: string) => !present.includes(c);
  if (kind === "random") return sample(rng, CATEGORIES.filter(isAbsent), k);
  return ranked(kind, present, stats).filter(isAbsent).slice(0, k);
}

/** POPE's question for a category. */
export function popeQuestion(category: string): string {
  return `Is there ${article(category)} ${category} in the image?`;
}
