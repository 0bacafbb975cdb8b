/**
 * Shapes scenes: one to six coloured shapes on a light background. Colours and shapes follow a skewed prior
 * (some are more frequent, as COCO's objects are), and most scenes have a theme (several shapes of one kind,
 * or several things of one colour), which gives the co-occurrence structure that POPE's "popular" and
 * "adversarial" negatives are built from. Shapes may overlap, but every shape keeps at least 70% of its pixels
 * visible and shapes of one colour never touch, so every shape can be seen, named and counted. On the "grid"
 * layout (scene.ts) each shape sits alone in a cell of an 8 × 8 board instead.
 */
import type { Rng } from "../util/random.js";
import { BACKGROUND_NAMES, COLOR_NAMES, type ColorName } from "./palette.js";
import { SAMPLES } from "./raster.js";
import { chance, intIn, pick, rngFor, STREAM, weightedIndex, weightedPick } from "./sampling.js";
import {
  DEFAULT_LAYOUT,
  GRID_CELLS,
  GRID_SIZE_RANGE,
  IMAGE_SIZE,
  type Scene,
  type ShapeLayout,
  type ShapeObject,
  SIZE_RANGE,
  type SizeName,
} from "./scene.js";
import { SHAPE_NAMES, type ShapeName, shapeMask } from "./shapes.js";

/** Prior weights: the first colours and shapes of the lists are the most frequent. */
export const COLOR_WEIGHTS: readonly number[] = COLOR_NAMES.map((_, i) => 1 / (1 + 0.15 * i));
export const SHAPE_WEIGHTS: readonly number[] = SHAPE_NAMES.map((_, i) => 1 / (1 + 0.15 * i));

/** Least visible fraction of a shape drawn under others. */
export const MIN_VISIBLE = 0.7;
/** Most shapes in a scene (counts stay small enough to see). */
export const MAX_OBJECTS = 6;

interface Spec {
  shape: ShapeName;
  color: ColorName;
  size: SizeName;
}

const randomColor = (rng: Rng) => weightedPick(rng, COLOR_NAMES, COLOR_WEIGHTS);
const randomShape = (rng: Rng) => weightedPick(rng, SHAPE_NAMES, SHAPE_WEIGHTS);

function specs(rng: Rng): Spec[] {
  const n = 1 + weightedIndex(rng, [0.1, 0.16, 0.2, 0.2, 0.19, 0.15]);
  const theme = n === 1 ? 0 : weightedIndex(rng, [0.4, 0.3, 0.3]);
  const k = theme === 0 ? 0 : intIn(rng, 2, Math.min(4, n));
  const pLarge = n >= 5 ? 0.25 : 0.5;
  const out: Spec[] = [];
  const baseShape = randomShape(rng);
  const baseColor = randomColor(rng);
  for (let i = 0; i < n; i++) {
    let shape: ShapeName;
    let color: ColorName;
    if (i < k && theme === 1) {
      shape = baseShape;
      color = chance(rng, 0.4) ? baseColor : randomColor(rng);
    } else if (i < k && theme === 2) {
      color = baseColor;
      shape = chance(rng, 0.3) ? baseShape : randomShape(rng);
    } else {
      shape = randomShape(rng);
      color = randomColor(rng);
    }
    out.push({ shape, color, size: chance(rng, pLarge) ? "large" : "small" });
  }
  rng.shuffle(out);
  return out;
}

/** Fraction of each shape's pixels not covered by shapes drawn after it. */
export function visibility(objects: readonly Omit<ShapeObject, "visible">[], size: number): number[] {
  const owner = new Int8Array(size * size).fill(-1);
  const area = objects.map((o, i) => {
    const m = shapeMask(o.shape, o.x, o.y, o.r, size, size);
    let n = 0;
    for (let y = 0; y < m.h; y++) {
      for (let x = 0; x < m.w; x++) {
        if (m.cov[y * m.w + x]! >= SAMPLES / 2) {
          owner[(m.y0 + y) * size + m.x0 + x] = i;
          n++;
        }
      }
    }
    return n;
  });
  const seen = new Array<number>(objects.length).fill(0);
  for (const o of owner) if (o >= 0) seen[o]!++;
  return area.map((a, i) => (a === 0 ? 0 : seen[i]! / a));
}

type Disc = Pick<ShapeObject, "color" | "x" | "y" | "r">;

/**
 * Whether two shapes are far enough apart: outlines reach 1.05 r, so 1.1 (r + r′) + 3 leaves a gap of at least
 * 3 px; with `overlap`, shapes of different colours may overlap up to 0.55 (r + r′). Same colours never touch.
 * (Squared distances: Math.hypot is not exactly rounded, so it could differ between machines.)
 */
export function apart(p: Disc, q: Disc, overlap: boolean): boolean {
  const min = overlap && p.color !== q.color ? 0.55 * (p.r + q.r) : 1.1 * (p.r + q.r) + 3;
  return (p.x - q.x) ** 2 + (p.y - q.y) ** 2 >= min * min;
}

/** Each shape's visibility rounded as scenes store it, or null when one is below MIN_VISIBLE. */
export function visibleFractions(
  objects: readonly Omit<ShapeObject, "visible">[],
  size: number,
): number[] | null {
  const vis = visibility(objects, size);
  return vis.some((v) => v < MIN_VISIBLE) ? null : vis.map((v) => Math.round(v * 1000) / 1000);
}

/** Centres for `specs`, or null when the tries run out. */
function place(rng: Rng, list: Spec[], overlap: boolean, size: number): ShapeObject[] | null {
  const placed: Omit<ShapeObject, "visible">[] = [];
  for (const s of list) {
    const r = intIn(rng, SIZE_RANGE[s.size][0], SIZE_RANGE[s.size][1]);
    let ok = false;
    for (let t = 0; t < 100 && !ok; t++) {
      const lo = r + 3;
      const x = intIn(rng, lo, size - 1 - lo);
      const y = intIn(rng, lo, size - 1 - lo);
      ok = placed.every((p) => apart(p, { color: s.color, x, y, r }, overlap));
      if (ok) placed.push({ shape: s.shape, color: s.color, size: s.size, x, y, r, label: null });
    }
    if (!ok) return null;
  }
  const vis = visibleFractions(placed, size);
  return vis && placed.map((p, i) => ({ ...p, visible: vis[i]! }));
}

/** Lays out specs, making shapes small, then dropping the last, until they fit. */
export function layout(rng: Rng, list: Spec[], overlap: boolean, size: number): ShapeObject[] {
  const todo = list.map((s) => ({ ...s }));
  for (let round = 0; ; round++) {
    for (let attempt = 0; attempt < 12; attempt++) {
      const got = place(rng, todo, overlap, size);
      if (got) return got;
    }
    const big = todo.findIndex((s) => s.size === "large");
    if (big >= 0) todo[big]!.size = "small";
    else if (todo.length > 1) todo.pop();
    else overlap = false;
    if (round > 40) throw new Error("shapes scene layout did not converge");
  }
}

/**
 * Shapes on a board: each in a cell of its own (centred, GRID_SIZE_RANGE sizes, never overlapping: by the `apart`
 * rule a large shape keeps out of the cells next to another shape, and two small ones next to each other stay
 * 5 px apart). With at most six shapes on 64 cells a free cell is always found; one that finds none is left out.
 */
export function gridLayout(rng: Rng, list: readonly Spec[], size: number): ShapeObject[] {
  const cell = size / GRID_CELLS;
  if (!Number.isInteger(cell)) throw new Error(`grid layout: ${size} px is not ${GRID_CELLS} whole cells`);
  const placed: ShapeObject[] = [];
  for (const s of list) {
    const r = intIn(rng, GRID_SIZE_RANGE[s.size][0], GRID_SIZE_RANGE[s.size][1]);
    for (let t = 0; t < 100; t++) {
      const x = intIn(rng, 0, GRID_CELLS - 1) * cell + cell / 2;
      const y = intIn(rng, 0, GRID_CELLS - 1) * cell + cell / 2;
      if (placed.every((p) => apart(p, { color: s.color, x, y, r }, false))) {
        placed.push({ shape: s.shape, color: s.color, size: s.size, x, y, r, label: null, visible: 1 });
        break;
      }
    }
  }
  return placed;
}

export function makeShapesScene(seed: number, shapeLayout: ShapeLayout = DEFAULT_LAYOUT): Scene {
  const rng = rngFor(seed, STREAM.scene);
  const background = pick(rng, BACKGROUND_NAMES);
  const list = specs(rng);
  const overlap = chance(rng, 0.3);
  const board =
    shapeLayout === "grid" || (shapeLayout === "mixed" && chance(rngFor(seed, STREAM.layout), 0.5));
  const objects = board ? gridLayout(rng, list, IMAGE_SIZE) : layout(rng, list, overlap, IMAGE_SIZE);
  return {
    id: seed,
    kind: "shapes",
    width: IMAGE_SIZE,
    height: IMAGE_SIZE,
    background,
    objects,
    signs: [],
    chart: null,
  };
}
