/**
 * Coverage masks of filled shapes, by 4×4 supersampling on a fixed-point grid: geometry is given in 1/16 pixel
 * units (`FP`), samples sit at the centres of a 4×4 grid inside each pixel, and a pixel's coverage is the
 * number of its samples inside the shape (0..16). Only +, −, ×, ÷ and √ touch coordinates, all exactly rounded
 * by IEEE 754, so a mask is the same on every machine. Polygons fill by the non-zero winding rule (stars,
 * hearts and crosses are not convex).
 */

/** Fixed-point units per pixel. */
export const FP = 16;
/** Samples per pixel along each axis. */
export const SS = 4;
/** Samples per pixel in all. */
export const SAMPLES = SS * SS;
const STEP = FP / SS;
const HALF = STEP / 2;

/** Coverage 0..SAMPLES of the pixels in [x0, x0+w) × [y0, y0+h). */
export interface Mask {
  x0: number;
  y0: number;
  w: number;
  h: number;
  cov: Uint8Array;
}

/** Horizontal sample spans of one sample row: [xl, xr) pairs in FP units. */
type RowSpans = (ys: number, out: number[]) => void;

function emptyMask(): Mask {
  return { x0: 0, y0: 0, w: 0, h: 0, cov: new Uint8Array(0) };
}

/**
 * Rasterises the spans inside the FP bounding box [minX, maxX] × [minY, maxY], clipped to a canvas of
 * `width`×`height` pixels.
 */
function rasterize(
  width: number,
  height: number,
  minX: number,
  minY: number,
  maxX: number,
  maxY: number,
  spans: RowSpans,
): Mask {
  const px0 = Math.max(0, Math.floor(minX / FP));
  const py0 = Math.max(0, Math.floor(minY / FP));
  const px1 = Math.min(width, Math.ceil(maxX / FP) + 1);
  const py1 = Math.min(height, Math.ceil(maxY / FP) + 1);
  if (px1 <= px0 || py1 <= py0) return emptyMask();
  const w = px1 - px0;
  const h = py1 - py0;
  const cov = new Uint8Array(w * h);
  const sxMin = px0 * SS;
  const sxMax = px1 * SS; // exclusive
  const buf: number[] = [];
  for (let sy = py0 * SS; sy < py1 * SS; sy++) {
    const ys = sy * STEP + HALF;
    buf.length = 0;
    spans(ys, buf);
    const row = (Math.floor(sy / SS) - py0) * w;
    for (let k = 0; k < buf.length; k += 2) {
      // First sample column whose centre is ≥ xl, first whose centre is ≥ xr.
      let a = Math.ceil((buf[k]! - HALF) / STEP);
      let b = Math.ceil((buf[k + 1]! - HALF) / STEP);
      if (a < sxMin) a = sxMin;
      if (b > sxMax) b = sxMax;
      for (let sx = a; sx < b; sx++) cov[row + Math.floor(sx / SS) - px0]!++;
    }
  }
  return { x0: px0, y0: py0, w, h, cov };
}

/** Mask of a polygon given as FP coordinates [x0, y0, x1, y1, …] (closed implicitly), non-zero winding. */
export function polygonMask(width: number, height: number, pts: readonly number[]): Mask {
  const n = pts.length / 2;
  if (n < 3) return emptyMask();
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = pts[2 * i]!;
    const y = pts[2 * i + 1]!;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  const xs: number[] = [];
  const dirs: number[] = [];
  const order: number[] = [];
  return rasterize(width, height, minX, minY, maxX, maxY, (ys, out) => {
    xs.length = 0;
    dirs.length = 0;
    for (let i = 0; i < n; i++) {
      const xa = pts[2 * i]!;
      const ya = pts[2 * i + 1]!;
      const j = i + 1 === n ? 0 : i + 1;
      const xb = pts[2 * j]!;
      const yb = pts[2 * j + 1]!;
      // Half-open in y, so a vertex on the sample row is counted once.
      let dir = 0;
      if (ya <= ys && yb > ys) dir = 1;
      else if (yb <= ys && ya > ys) dir = -1;
      if (dir === 0) continue;
      xs.push(xa + ((ys - ya) * (xb - xa)) / (yb - ya));
      dirs.push(dir);
    }
    order.length = 0;
    for (let i = 0; i < xs.length; i++) order.push(i);
    order.sort((p, q) => xs[p]! - xs[q]! || p - q);
    let wind = 0;
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      const before = wind;
      wind += dirs[i]!;
      if (before === 0 && wind !== 0) out.push(xs[i]!);
      else if (before !== 0 && wind === 0) out.push(xs[i]!);
    }
  });
}

/** Mask of a disc with centre (cx, cy) and radius r, all in FP units. */
export function circleMask(width: number, height: number, cx: number, cy: number, r: number): Mask {
  const r2 = r * r;
  return rasterize(width, height, cx - r, cy - r, cx + r, cy + r, (ys, out) => {
    const dy = ys - cy;
    const d = r2 - dy * dy;
    if (d <= 0) return;
    const half = Math.sqrt(d);
    out.push(cx - half, cx + half);
  });
}

/** Number of pixels a mask covers at least half (the pixel count a shape "has"). */
export function maskArea(m: Mask): number {
  let n = 0;
  for (let i = 0; i < m.cov.length; i++) if (m.cov[i]! >= SAMPLES / 2) n++;
  return n;
}
