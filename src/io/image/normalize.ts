/**
 * Rescale and normalise to the tower's input: Float32Array [3, H, W] (channel first), as transformers'
 * `rescale` then `normalize` compute it:
 * - rescale: `image.astype(float64) * scale`, then cast to float32, i.e. the product of the byte and the
 *   double 1/255 rounded once to float32 (not a float32 multiply, which can differ by one ulp);
 * - normalise: mean and std are cast to float32 and `(x − mean) / std` is evaluated in float32.
 * Each float32 operation is done here in double and rounded with Math.fround, which gives the correctly
 * rounded float32 result for a single subtraction or division of float32 operands.
 */
import { UsageError } from "../../util/errors.js";
import { checkRgbImage, type RgbImage } from "./rgb-image.js";

export interface NormalizeOptions {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** Multiplier applied to the bytes first, usually 1/255 (`rescale_factor`). */
  rescale: number;
}

export function toPixelValues(img: RgbImage, opts: NormalizeOptions): Float32Array {
  checkRgbImage(img);
  const { mean, std, rescale } = opts;
  if (
    mean.length !== 3 ||
    std.length !== 3 ||
    std.some((s) => s === 0 || !Number.isFinite(s)) ||
    !Number.isFinite(rescale)
  ) {
    throw new UsageError(
      `normalisation needs 3 means, 3 non-zero stds and a finite rescale factor, got mean [${mean}], std [${std}], rescale ${rescale}`,
    );
  }
  const plane = img.width * img.height;
  const out = new Float32Array(plane * 3);
  const src = img.data;
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]);
    const s = Math.fround(std[c]);
    // Only 256 possible inputs per channel: compute each once.
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = Math.fround(Math.fround(Math.fround(v * rescale) - m) / s);
    const o = c * plane;
    for (let i = 0; i < plane; i++) out[o + i] = lut[src[i * 3 + c]];
  }
  return out;
}
