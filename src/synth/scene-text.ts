/**
 * Text scenes: one to three signs (a coloured board with a word or a number on it) and sometimes large shapes
 * with a letter or digit in the middle. Text is drawn at scale 2 or 3 of the bitmap font, so strokes stay at
 * least one pixel wide after a 2× downscale. Sign colours are distinct within a scene, so "the red sign" names
 * one sign; boards and shapes never overlap.
 */
import type { Rng } from "../util/random.js";
import { ADVANCE, GLYPH_H, textWidth } from "./font.js";
import { BACKGROUND_NAMES, COLOR_NAMES } from "./palette.js";
import { chance, intIn, pick, rngFor, STREAM, sample, weightedIndex } from "./sampling.js";
import { IMAGE_SIZE, type Scene, type ShapeObject, SIZE_RANGE, type Sign } from "./scene.js";
import type { ShapeName } from "./shapes.js";
import { LABEL_CHARS, SIGN_WORDS } from "./words.js";

/** Shapes whose middle is wide enough for a scale-2 character. */
export const LABELLED_SHAPES: readonly ShapeName[] = ["circle", "square", "hexagon"];
const MARGIN = 2;
const GAP = 4;

/** Padding between a board's edge and its text. */
export function signPadding(scale: number): number {
  return 2 * scale;
}

function signText(rng: Rng): { text: string; reading: string; kind: "word" | "number" } {
  if (chance(rng, 0.3)) {
    const v = chance(rng, 0.5) ? intIn(rng, 0, 99) : intIn(rng, 100, 9999);
    return { text: String(v), reading: String(v), kind: "number" };
  }
  const w = pick(rng, SIGN_WORDS);
  const c = weightedIndex(rng, [0.4, 0.4, 0.2]);
  const text = c === 0 ? w : c === 1 ? w.toUpperCase() : w[0]!.toUpperCase() + w.slice(1);
  return { text, reading: w, kind: "word" };
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const disjoint = (a: Box, b: Box) =>
  a.x + a.w + GAP <= b.x || b.x + b.w + GAP <= a.x || a.y + a.h + GAP <= b.y || b.y + b.h + GAP <= a.y;

function tryPlace(rng: Rng, w: number, h: number, taken: Box[], size: number): Box | null {
  if (w > size - 2 * MARGIN || h > size - 2 * MARGIN) return null;
  for (let t = 0; t < 60; t++) {
    const b = { x: intIn(rng, MARGIN, size - MARGIN - w), y: intIn(rng, MARGIN, size - MARGIN - h), w, h };
    if (taken.every((o) => disjoint(o, b))) return b;
  }
  return null;
}

export function makeTextScene(seed: number): Scene {
  const rng = rngFor(seed, STREAM.scene);
  const size = IMAGE_SIZE;
  const background = pick(rng, BACKGROUND_NAMES);
  const nSigns = 1 + weightedIndex(rng, [0.45, 0.35, 0.2]);
  const nShapes = weightedIndex(rng, [0.5, 0.35, 0.15]);
  const colors = sample(rng, COLOR_NAMES, nSigns);
  const taken: Box[] = [];
  const signs: Sign[] = [];
  for (const color of colors) {
    const t = signText(rng);
    const fits3 = textWidth(t.text, 3) + 2 * signPadding(3) <= size - 2 * MARGIN;
    const scale = fits3 && chance(rng, 0.35) ? 3 : 2;
    const pad = signPadding(scale);
    const w = textWidth(t.text, scale) + 2 * pad;
    const h = GLYPH_H * scale + 2 * pad;
    const b = tryPlace(rng, w, h, taken, size);
    if (!b) continue;
    taken.push(b);
    signs.push({ ...t, color, ...b, scale });
  }
  if (signs.length === 0) {
    // Never happens for one sign on an empty canvas; kept so a scene always has text.
    throw new Error(`text scene ${seed}: no sign fits`);
  }
  const objects: ShapeObject[] = [];
  for (let i = 0; i < nShapes; i++) {
    const shape = pick(rng, LABELLED_SHAPES);
    const r = intIn(rng, SIZE_RANGE.large[0], SIZE_RANGE.large[1]);
    const b = tryPlace(rng, 2 * r + 3, 2 * r + 3, taken, size);
    if (!b) continue;
    taken.push(b);
    const color = pick(rng, COLOR_NAMES);
    const label = pick(rng, LABEL_CHARS);
    // Centre on a whole pixel so the label's cell (scale 2: 10×14 px) sits symmetrically.
    objects.push({
      shape,
      color,
      size: "large",
      x: b.x + r + 1,
      y: b.y + r + 1,
      r,
      label,
      visible: 1,
    });
  }
  return { id: seed, kind: "text", width: size, height: size, background, objects, signs, chart: null };
}

/** Top-left pixel of a label character centred on a shape (scale 2). */
export function labelOrigin(o: Pick<ShapeObject, "x" | "y">): { x: number; y: number; scale: number } {
  const scale = 2;
  return { x: o.x - Math.floor(((ADVANCE - 1) * scale) / 2), y: o.y - 7, scale };
}
