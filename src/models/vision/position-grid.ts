/**
 * A ViT's learned position table resized to another patch grid, as Hugging Face's SigLIP does with
 * `interpolate_pos_encoding=True`: the table [g·g, D] seen as a g × g image of D channels, resized to n × n by
 * `torch.nn.functional.interpolate(mode="bicubic", align_corners=False)`. Its rules, in words: output pixel i samples
 * the input at (i + 0.5)·g/n − 0.5 (half-pixel centres, not clamped); the four taps around it are weighted by the
 * cubic convolution kernel with a = −0.75; taps outside the grid read the nearest edge row or column. The two axes
 * are separable, so the rows are resized first, then the columns.
 *
 * This is what lets an Imp model answer with fewer visual tokens (Imp-v1.5-3B-196's 196 instead of 729) without a
 * second checkpoint. It runs once per grid size on the weights, in plain TypeScript.
 */
import { ShapeError } from "../../util/errors.js";

const A = -0.75;

/** The four cubic-convolution weights for a sample at fraction t ∈ [0, 1) past its left tap (taps −1, 0, 1, 2). */
function cubicWeights(t: number): [number, number, number, number] {
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/** For each output index: its four input indices (clamped) and their weights. */
function taps(from: number, to: number): { index: Int32Array; weight: Float64Array } {
  const index = new Int32Array(to * 4);
  const weight = new Float64Array(to * 4);
  const scale = from / to;
  for (let i = 0; i < to; i++) {
    const src = (i + 0.5) * scale - 0.5;
    const left = Math.floor(src);
    const w = cubicWeights(src - left);
    for (let k = 0; k < 4; k++) {
      index[i * 4 + k] = Math.min(from - 1, Math.max(0, left - 1 + k));
      weight[i * 4 + k] = w[k]!;
    }
  }
  return { index, weight };
}

/**
 * `table` [g·g, dim] (row-major: position y·g + x) resized to a `to` × `to` grid: [to·to, dim]. The same table
 * comes back when `to` is g (as Hugging Face returns the stored one for the native size).
 */
export function resizePositionGrid(table: Float32Array, dim: number, to: number): Float32Array {
  const g = Math.round(Math.sqrt(table.length / dim));
  if (g * g * dim !== table.length)
    throw new ShapeError(`a position table of ${table.length / dim} rows is not a square grid`);
  if (!Number.isInteger(to) || to < 1) throw new ShapeError(`cannot resize a position grid to ${to} × ${to}`);
  if (to === g) return table;
  const t = taps(g, to);
  // Along y: [g, g, dim] → [to, g, dim].
  const mid = new Float64Array(to * g * dim);
  for (let y = 0; y < to; y++)
    for (let k = 0; k < 4; k++) {
      const w = t.weight[y * 4 + k]!;
      const src = t.index[y * 4 + k]! * g * dim;
      const dst = y * g * dim;
      for (let j = 0; j < g * dim; j++) mid[dst + j]! += w * table[src + j]!;
    }
  // Along x: [to, g, dim] → [to, to, dim].
  const out = new Float32Array(to * to * dim);
  for (let y = 0; y < to; y++)
    for (let x = 0; x < to; x++) {
      const dst = (y * to + x) * dim;
      for (let c = 0; c < dim; c++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += t.weight[x * 4 + k]! * mid[(y * g + t.index[x * 4 + k]!) * dim + c]!;
        out[dst + c] = s;
      }
    }
  return out;
}
