/**
 * A look phase's escape check. Binding (the image tokens learning which of them the question names) is learnt
 * after a plateau whose length is the data order's luck: on the board world, seeds 1 and 4 left it by step 300,
 * seed 2 not in 1,050 steps (docs/builtin-model.md). With an escape check each try runs `by` steps and is kept
 * only if its dense term (per image token: the logged term over the head's weight) averaged over its last steps is
 * below `below`; otherwise the next try starts over with the next seed. The first try that escapes runs to the
 * end; if none does, the one with the lowest term does. The decision is read from each try's metrics.jsonl, so a
 * killed build decides the same way when run again.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readMetrics } from "../train/metrics.js";
import type { Recipe } from "../train/recipe.js";

export interface EscapeCheck {
  /** Steps a try gets before it is judged. */
  by: number;
  /** The dense term per image token a try must be under by then. */
  below: number;
  /** Tries at most (seeds plan.seed, plan.seed + 1, …). */
  tries: number;
}

/** Steps averaged at the judging step (fewer when `by` is smaller). */
const WINDOW = 50;

/**
 * Runs tries until one escapes and returns its output folder. `tryRecipe(k)` is the k-th try's recipe (its own
 * seed and output); `train(recipe, stopAfter)` trains it, resuming, to the end or to `stopAfter`.
 */
export async function trainEscaping(
  tryRecipe: (k: number) => Recipe,
  check: EscapeCheck,
  train: (recipe: Recipe, stopAfter?: number) => Promise<unknown>,
  log: (line: string) => void,
): Promise<string> {
  const terms: number[] = [];
  for (let k = 0; k < check.tries; k++) {
    const recipe = tryRecipe(k);
    if (existsSync(join(recipe.output, "run.json"))) return recipe.output;
    let term = denseTermAt(recipe, check.by);
    if (term === null) {
      await train(recipe, check.by);
      term = denseTermAt(recipe, check.by);
      if (term === null) throw new Error(`${recipe.output}: no dense term logged by step ${check.by}`);
    }
    const escaped = term < check.below;
    log(
      `  try ${k + 1} of ${check.tries} (seed ${recipe.seed}): dense term ${term.toFixed(4)} at step ${check.by}` +
        (escaped
          ? `, under ${check.below}: kept`
          : `, not under ${check.below}: ${k + 1 < check.tries ? "next seed" : "no tries left"}`),
    );
    if (escaped) {
      await train(recipe);
      return recipe.output;
    }
    terms.push(term);
  }
  const best = terms.indexOf(Math.min(...terms));
  log(`  no try escaped; finishing try ${best + 1}, whose term was lowest`);
  const recipe = tryRecipe(best);
  await train(recipe);
  return recipe.output;
}

/** The mean dense term per image token over the WINDOW steps up to `by`, or null before the run has logged them. */
export function denseTermAt(recipe: Recipe, by: number): number | null {
  const file = join(recipe.output, "metrics.jsonl");
  if (!existsSync(file)) return null;
  const steps = readMetrics(file).filter((m) => m.step > by - Math.min(WINDOW, by) && m.step <= by);
  if (steps.length < Math.min(WINDOW, by)) return null;
  const sum = steps.reduce((s, m) => s + (m.image_token_loss ?? Number.NaN), 0);
  return sum / steps.length / recipe.imageTokenLoss;
}
