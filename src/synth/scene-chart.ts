/**
 * Chart scenes: a vertical bar chart (3 bars), a horizontal bar chart (3–5 bars) or a pie chart (3–4 slices),
 * each category labelled with a three-letter word and its value printed (bars: at the bar's end; pie: in the
 * legend as a percentage). Values are distinct, so "largest" and "smallest" have one answer, and the printed
 * numbers make every value readable, not guessed from a bar's length. Layout lives in render.ts.
 */
import type { Rng } from "../util/random.js";
import { BACKGROUND_NAMES, COLOR_NAMES } from "./palette.js";
import { chance, intIn, pick, rngFor, STREAM, sample, weightedPick } from "./sampling.js";
import { type Chart, type ChartType, IMAGE_SIZE, type Scene } from "./scene.js";
import { CHART_LABELS } from "./words.js";

function barValues(rng: Rng, n: number): number[] {
  for (;;) {
    const v = Array.from({ length: n }, () => intIn(rng, 5, 99));
    const sorted = [...v].sort((a, b) => a - b);
    if (sorted.every((x, i) => i === 0 || x - sorted[i - 1]! >= 2)) return v;
  }
}

/** Percentages: multiples of 5, each ≥ 10, distinct, summing to 100. */
function pieValues(rng: Rng, n: number): number[] {
  for (;;) {
    const v = Array.from({ length: n - 1 }, () => 5 * intIn(rng, 2, 12));
    const last = 100 - v.reduce((a, b) => a + b, 0);
    if (last < 10) continue;
    v.push(last);
    if (new Set(v).size === n) return v;
  }
}

export function makeChart(rng: Rng): Chart {
  const type: ChartType = weightedPick(rng, ["bar", "hbar", "pie"] as const, [0.35, 0.35, 0.3]);
  const n = type === "bar" ? 3 : type === "hbar" ? intIn(rng, 3, 5) : intIn(rng, 3, 4);
  const labels = sample(rng, CHART_LABELS, n);
  const values = type === "pie" ? pieValues(rng, n) : barValues(rng, n);
  const colors =
    type === "pie" || chance(rng, 0.5)
      ? sample(rng, COLOR_NAMES, n)
      : new Array(n).fill(pick(rng, COLOR_NAMES));
  return { type, labels, values, colors };
}

export function makeChartScene(seed: number): Scene {
  const rng = rngFor(seed, STREAM.scene);
  const background = pick(rng, BACKGROUND_NAMES);
  return {
    id: seed,
    kind: "chart",
    width: IMAGE_SIZE,
    height: IMAGE_SIZE,
    background,
    objects: [],
    signs: [],
    chart: makeChart(rng),
  };
}
