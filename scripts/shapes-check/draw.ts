/**
 * Shapes drawn by other code than the generated world's (src/synth): its own outlines (close to the world's, a
 * little different), anti-aliasing by 4 × 4 supersampling instead of exact coverage, an optional darker outline,
 * colours jittered per channel, other plain backgrounds, any image side. A model that answers these right has
 * learnt the shapes and colours, not the generator's exact pixels.
 */
import type { Rgb, RgbImage } from "../../src/io/image/index.js";

export interface DrawnShape {
  shape: string;
  color: Rgb;
  /** Centre and half extent, in pixels. */
  cx: number;
  cy: number;
  r: number;
}

export interface DrawSpec {
  side: number;
  background: Rgb;
  shapes: readonly DrawnShape[];
  /** A 1-px border a shade darker than each shape's fill. */
  outline: boolean;
}

/** Unit outlines, (x, y) pairs in [−1, 1], y down; the circle is drawn by its distance instead. */
function regular(n: number, phase: number, radius = 1): number[] {
  return Array.from({ length: 2 * n }, (_, i) => {
    const a = phase + (2 * Math.PI * Math.floor(i / 2)) / n;
    return i % 2 === 0 ? radius * Math.cos(a) : radius * Math.sin(a);
  });
}

function star(points: number, inner: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 2 * points; i++) {
    const a = -Math.PI / 2 + (Math.PI * i) / points;
    const rr = i % 2 === 0 ? 1 : inner;
    out.push(rr * Math.cos(a), rr * Math.sin(a));
  }
  return out;
}

const S = 0.78;
const A = 0.3;
const OUTLINES: Readonly<Record<string, readonly number[]>> = {
  square: [-S, -S, S, -S, S, S, -S, S],
  triangle: [0, -0.95, 0.95, 0.7, -0.95, 0.7],
  star: star(5, 0.42),
  diamond: [0, -1, 0.66, 0, 0, 1, -0.66, 0],
  hexagon: regular(6, 0, 0.95),
  cross: [
    -A,
    -0.92,
    A,
    -0.92,
    A,
    -A,
    0.92,
    -A,
    0.92,
    A,
    A,
    A,
    A,
    0.92,
    -A,
    0.92,
    -A,
    A,
    -0.92,
    A,
    -0.92,
    -A,
    -A,
    -A,
  ],
};

export const DRAWN_SHAPES: readonly string[] = ["circle", "heart", ...Object.keys(OUTLINES)];

/** The heart as two discs over a triangle (the world traces a parametric curve instead). */
const HEART_TRIANGLE = [-0.92, -0.18, 0.92, -0.18, 0, 0.95];

/** Whether the point (u, v), in the shape's unit frame, is inside it (even-odd rule for polygons). */
function inside(shape: string, u: number, v: number): boolean {
  if (shape === "circle") return u * u + v * v <= 0.92 * 0.92;
  if (shape === "heart")
    return (
      (u + 0.46) ** 2 + (v + 0.4) ** 2 <= 0.5 ** 2 ||
      (u - 0.46) ** 2 + (v + 0.4) ** 2 <= 0.5 ** 2 ||
      inPolygon(HEART_TRIANGLE, u, v)
    );
  const p = OUTLINES[shape];
  if (!p) throw new Error(`no outline for the shape "${shape}"`);
  return inPolygon(p, u, v);
}

function inPolygon(p: readonly number[], u: number, v: number): boolean {
  let hit = false;
  for (let i = 0, j = p.length - 2; i < p.length; j = i, i += 2) {
    const [xi, yi, xj, yj] = [p[i]!, p[i + 1]!, p[j]!, p[j + 1]!];
    if (yi > v !== yj > v && u < ((xj - xi) * (v - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

const SUB = 4;

export function drawShapes(spec: DrawSpec): RgbImage {
  const { side } = spec;
  const data = new Uint8Array(side * side * 3);
  for (let i = 0; i < side * side; i++) data.set(spec.background, i * 3);
  for (const s of spec.shapes) {
    const border: Rgb = [s.color[0] * 0.6, s.color[1] * 0.6, s.color[2] * 0.6];
    const x0 = Math.max(0, Math.floor(s.cx - s.r - 2));
    const x1 = Math.min(side - 1, Math.ceil(s.cx + s.r + 2));
    const y0 = Math.max(0, Math.floor(s.cy - s.r - 2));
    const y1 = Math.min(side - 1, Math.ceil(s.cy + s.r + 2));
    for (let y = y0; y <= y1; y++)
      for (let x = x0; x <= x1; x++) {
        let fill = 0;
        let edge = 0;
        for (let sy = 0; sy < SUB; sy++)
          for (let sx = 0; sx < SUB; sx++) {
            const u = (x + (sx + 0.5) / SUB - s.cx) / s.r;
            const v = (y + (sy + 0.5) / SUB - s.cy) / s.r;
            if (!inside(s.shape, u, v)) continue;
            fill++;
            // A sample within a pixel of the border: one of its neighbours a pixel away is outside.
            const d = 1 / s.r;
            if (
              spec.outline &&
              !(
                inside(s.shape, u + d, v) &&
                inside(s.shape, u - d, v) &&
                inside(s.shape, u, v + d) &&
                inside(s.shape, u, v - d)
              )
            )
              edge++;
          }
        if (fill === 0) continue;
        const k = (y * side + x) * 3;
        const a = fill / (SUB * SUB);
        const e = edge / fill;
        for (let c = 0; c < 3; c++) {
          const colour = s.color[c]! * (1 - e) + border[c]! * e;
          data[k + c] = Math.round(data[k + c]! * (1 - a) + colour * a);
        }
      }
  }
  return { width: side, height: side, data };
}
