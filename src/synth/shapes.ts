/**
 * The eight shape kinds of the generated world and their outlines. Each outline is a table of integer vertices
 * in units of 1/1024 of the shape's size r (half its extent), computed once at load with Math.cos/sin and
 * rounded, so a vertex moved by a trigonometry library's last bit lands on the same integer; a drawn vertex is
 * then centre + round(u·r/1024) in the raster's fixed-point units (raster.ts). The circle is exact (√ only).
 */
import { circleMask, FP, type Mask, polygonMask } from "./raster.js";

export const SHAPE_NAMES = [
  "circle",
  "square",
  "triangle",
  "star",
  "diamond",
  "hexagon",
  "heart",
  "cross",
] as const;
export type ShapeName = (typeof SHAPE_NAMES)[number];

/** Plural nouns, for counts and captions. */
export const SHAPE_PLURALS: Readonly<Record<ShapeName, string>> = {
  circle: "circles",
  square: "squares",
  triangle: "triangles",
  star: "stars",
  diamond: "diamonds",
  hexagon: "hexagons",
  heart: "hearts",
  cross: "crosses",
};

const U = 1024;

function roundAll(v: number[]): Int32Array {
  return Int32Array.from(v, (x) => Math.round(x * U));
}

function regular(n: number, radius: number, phase: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = phase + (2 * Math.PI * i) / n;
    out.push(radius * Math.cos(a), radius * Math.sin(a));
  }
  return out;
}

function starOutline(): number[] {
  const out: number[] = [];
  const outer = 1.05;
  const inner = 0.47 * outer;
  for (let i = 0; i < 10; i++) {
    const a = -Math.PI / 2 + (Math.PI * i) / 5;
    const rr = i % 2 === 0 ? outer : inner;
    out.push(rr * Math.cos(a), rr * Math.sin(a));
  }
  return out;
}

function heartOutline(): number[] {
  // The classic parametric heart: x = 16 sin³t, y = 13 cos t − 5 cos 2t − 2 cos 3t − cos 4t (y ∈ [−17, ≈12]),
  // moved down by 0.1 so its centre of mass (high, in the lobes) sits near the centre.
  const out: number[] = [];
  const n = 48;
  for (let i = 0; i < n; i++) {
    const t = (2 * Math.PI * i) / n;
    const x = 16 * Math.sin(t) ** 3;
    const y = -(13 * Math.cos(t) - 5 * Math.cos(2 * t) - 2 * Math.cos(3 * t) - Math.cos(4 * t));
    out.push(x / 15.5, (y - 2.4) / 15.5 + 0.1);
  }
  return out;
}

function crossOutline(): number[] {
  const a = 0.34;
  const e = 0.95;
  return [-a, -e, a, -e, a, -a, e, -a, e, a, a, a, a, e, -a, e, -a, a, -e, a, -e, -a, -a, -a];
}

/** Unit outlines (×1024) of every shape but the circle. */
const OUTLINES: Readonly<Record<Exclude<ShapeName, "circle">, Int32Array>> = {
  square: roundAll([-0.82, -0.82, 0.82, -0.82, 0.82, 0.82, -0.82, 0.82]),
  triangle: roundAll([0, -1, 0.9, 0.6, -0.9, 0.6]),
  star: roundAll(starOutline()),
  diamond: roundAll([0, -1, 0.72, 0, 0, 1, -0.72, 0]),
  hexagon: roundAll(regular(6, 1, 0)),
  heart: roundAll(heartOutline()),
  cross: roundAll(crossOutline()),
};

/**
 * The polygon of a shape centred at pixel (cx, cy) with size r pixels, in FP units; null for the circle.
 * cx, cy and r may be fractional pixel values (multiples of 1/16 stay exact).
 */
export function shapePolygon(shape: ShapeName, cx: number, cy: number, r: number): number[] | null {
  if (shape === "circle") return null;
  const t = OUTLINES[shape];
  const cxF = Math.round(cx * FP);
  const cyF = Math.round(cy * FP);
  const rF = Math.round(r * FP);
  const out = new Array<number>(t.length);
  for (let i = 0; i < t.length; i += 2) {
    out[i] = cxF + Math.round((t[i]! * rF) / U);
    out[i + 1] = cyF + Math.round((t[i + 1]! * rF) / U);
  }
  return out;
}

/** Coverage mask of a shape on a width×height canvas. */
export function shapeMask(
  shape: ShapeName,
  cx: number,
  cy: number,
  r: number,
  width: number,
  height: number,
): Mask {
  const poly = shapePolygon(shape, cx, cy, r);
  if (poly === null)
    return circleMask(width, height, Math.round(cx * FP), Math.round(cy * FP), Math.round(r * FP));
  return polygonMask(width, height, poly);
}
