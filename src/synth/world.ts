/**
 * The generated world as a function of a seed, and its splits. A seed fixes the scene's kind and the whole
 * scene; the splits are disjoint seed ranges, so train, validation and test never share a scene, and the text
 * corpus (for pretraining the language model) draws from a range of its own.
 *
 * @example
 * const scene = makeScene(splitSeeds("test", 1)[0]!);
 * const png = encodePng(renderScene(scene));
 */
import { UsageError } from "../util/errors.js";
import { rngFor, weightedIndex } from "./sampling.js";
import type { Scene, SceneKind, ShapeLayout } from "./scene.js";
import { makeChartScene } from "./scene-chart.js";
import { makeShapesScene } from "./scene-shapes.js";
import { makeTextScene } from "./scene-text.js";

/** Version of the world: bump when a change alters scenes, pixels or wording for existing seeds. */
export const WORLD_VERSION = 1;

export const SPLITS = ["train", "val", "test", "corpus"] as const;
export type Split = (typeof SPLITS)[number];

/** First seed and size of each split's range. */
export const SPLIT_RANGES: Readonly<Record<Split, { start: number; size: number }>> = {
  train: { start: 0, size: 10_000_000 },
  val: { start: 10_000_000, size: 1_000_000 },
  test: { start: 20_000_000, size: 1_000_000 },
  corpus: { start: 30_000_000, size: 10_000_000 },
};

export const KIND_WEIGHTS: Readonly<Record<SceneKind, number>> = { shapes: 0.55, text: 0.25, chart: 0.2 };
const KINDS: readonly SceneKind[] = ["shapes", "text", "chart"];

/** The kind of the scene a seed makes. */
export function sceneKind(seed: number): SceneKind {
  return KINDS[
    weightedIndex(
      rngFor(seed, 0x6b1d),
      KINDS.map((k) => KIND_WEIGHTS[k]),
    )
  ]!;
}

/** What a world fixes beyond the seed (the defaults give the version-1 world the built-in model was made on). */
export interface SceneOptions {
  /** How shapes scenes place their shapes (default "free"). */
  layout?: ShapeLayout;
}

export function makeScene(seed: number, o: SceneOptions = {}): Scene {
  const kind = sceneKind(seed);
  return kind === "shapes"
    ? makeShapesScene(seed, o.layout)
    : kind === "text"
      ? makeTextScene(seed)
      : makeChartScene(seed);
}

/** The first `n` seeds of a split. */
export function splitSeeds(split: Split, n: number, offset = 0): number[] {
  const r = SPLIT_RANGES[split];
  if (!Number.isInteger(n) || n < 0 || offset < 0 || offset + n > r.size) {
    throw new UsageError(`${split}: ${n} scenes from ${offset} do not fit its ${r.size} seeds`);
  }
  return Array.from({ length: n }, (_, i) => r.start + offset + i);
}

/** The split a seed belongs to. */
export function splitOf(seed: number): Split | null {
  for (const s of SPLITS) {
    const r = SPLIT_RANGES[s];
    if (seed >= r.start && seed < r.start + r.size) return s;
  }
  return null;
}

/** Image file name of a scene: s + the seed in 8 digits. */
export function imageName(seed: number): string {
  return `s${String(seed).padStart(8, "0")}.png`;
}
