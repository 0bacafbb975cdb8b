/**
 * The scene graph of the generated world: what an image holds (shapes with colour, size, position and an
 * optional one-character label; signs with a word or number; a bar or pie chart), with everything a question
 * needs to be answered from it. Scenes are pure data made from a seed (scene-*.ts) and drawn by render.ts;
 * every caption, question and answer is derived from this graph, never from the pixels.
 */
import type { BackgroundName, ColorName } from "./palette.js";
import type { ShapeName } from "./shapes.js";

/**
 * Side of every generated image, in pixels. 128 keeps text drawn at scale 2 (strokes 2 px) legible after a 2×
 * bicubic downscale to a 64 px tower input, and costs little to draw and store.
 */
export const IMAGE_SIZE = 128;

export type SceneKind = "shapes" | "text" | "chart";
export type SizeName = "small" | "large";

/** Size r (half extent, px) of each size class; the gap between them keeps "small" and "large" unambiguous. */
export const SIZE_RANGE: Readonly<Record<SizeName, readonly [number, number]>> = {
  small: [10, 13],
  large: [18, 23],
};

/**
 * How a shapes scene places its shapes: anywhere ("free", overlaps allowed) or each inside its own cell of a
 * GRID_CELLS × GRID_CELLS board ("grid"). A ViT trained from scratch on a few thousand images learns what a patch
 * holds long before it learns to combine neighbouring patches: with the 8 × 8 board lined up with the built-in
 * model's 16-px patches, the patch under each shape holds the whole shape, and a patch-level loss names 70 % of
 * them after 200 steps against 20 % for free placement (docs/builtin-model.md, "A world on a grid").
 */
export type ShapeLayout = "free" | "grid" | "mixed";
/**
 * "mixed": each shapes scene on the board or free, even odds drawn from its own stream of the scene's seed (so a
 * free scene of a mixed world is the free world's scene): the board's one-patch shapes for a tower whose tokens know
 * their shape, the free layout's larger ones for an LLM that learns to look.
 */
export const SHAPE_LAYOUTS: readonly ShapeLayout[] = ["free", "grid", "mixed"];
/** The layout of a world written before the option existed (version 1, the committed model's). */
export const DEFAULT_LAYOUT: ShapeLayout = "free";
/** Cells per side of the "grid" board (IMAGE_SIZE / GRID_CELLS = 16 px a cell). */
export const GRID_CELLS = 8;
/** Size r of each size class on the board: a large shape (outline 1.05 r) stays inside its 16-px cell. */
export const GRID_SIZE_RANGE: Readonly<Record<SizeName, readonly [number, number]>> = {
  small: [5, 5],
  large: [7, 7],
};

export interface ShapeObject {
  shape: ShapeName;
  color: ColorName;
  size: SizeName;
  /** Centre, pixels. */
  x: number;
  y: number;
  /** Half extent, pixels. */
  r: number;
  /** One letter or digit drawn in the middle (text scenes only). */
  label: string | null;
  /** Fraction of the shape's own pixels left visible by the shapes drawn over it (1 when none). */
  visible: number;
}

export interface Sign {
  /** The text as drawn (upper or lower case, or digits). */
  text: string;
  /** What the text reads as an answer: lower case. */
  reading: string;
  kind: "word" | "number";
  color: ColorName;
  /** Board rectangle, pixels. */
  x: number;
  y: number;
  w: number;
  h: number;
  /** Font scale of the text. */
  scale: number;
}

export type ChartType = "bar" | "hbar" | "pie";

export interface Chart {
  type: ChartType;
  labels: string[];
  /** Values as printed: integers; a pie's sum to 100 (percent). */
  values: number[];
  /** Colour of each bar or slice. */
  colors: ColorName[];
}

export interface Scene {
  /** The seed the scene was made from: its identity. */
  id: number;
  kind: SceneKind;
  width: number;
  height: number;
  background: BackgroundName;
  /** Shapes in drawing order (later ones may cover earlier ones). */
  objects: ShapeObject[];
  signs: Sign[];
  chart: Chart | null;
}

/** The nine coarse regions of an image, in reading order. */
export const REGIONS = [
  "top left",
  "top",
  "top right",
  "left",
  "center",
  "right",
  "bottom left",
  "bottom",
  "bottom right",
] as const;
export type Region = (typeof REGIONS)[number];

/** "in the top left", "at the top", "on the left", "in the center", … */
export function regionPhrase(r: Region): string {
  if (r === "top" || r === "bottom") return `at the ${r}`;
  if (r === "left" || r === "right") return `on the ${r}`;
  return `in the ${r}`;
}

/**
 * The region of a point, or null when it lies within `margin` px of a third line (a region question about it
 * would be ambiguous).
 */
export function regionOf(x: number, y: number, size: number, margin = 0): Region | null {
  const third = (v: number): number | null => {
    const a = size / 3;
    const b = (2 * size) / 3;
    if (Math.abs(v - a) < margin || Math.abs(v - b) < margin) return null;
    return v < a ? 0 : v < b ? 1 : 2;
  };
  const cx = third(x);
  const cy = third(y);
  if (cx === null || cy === null) return null;
  return REGIONS[cy * 3 + cx]!;
}

/** A POPE category of the shapes world: a colour–shape pair, e.g. "red circle". */
export function categoryOf(o: Pick<ShapeObject, "color" | "shape">): string {
  return `${o.color} ${o.shape}`;
}

/** An object's box [x0, y0, x1, y1] as fractions of the scene's width and height (a record's `named_boxes`). */
export function objectBox(scene: Scene, o: ShapeObject): [number, number, number, number] {
  const f = (v: number, size: number) => Math.min(1, Math.max(0, v / size));
  return [
    f(o.x - o.r, scene.width),
    f(o.y - o.r, scene.height),
    f(o.x + o.r, scene.width),
    f(o.y + o.r, scene.height),
  ];
}
