/**
 * Pillow's `Image.resize(size, Image.BICUBIC)` on 8-bit RGB, bit for bit (Pillow src/libImaging/Resample.c).
 *
 * The rules, as Pillow applies them:
 * - Separable: a horizontal pass into an intermediate 8-bit image, then a vertical pass. Each pass only runs
 *   when needed (the output size differs from the input, or a box other than the full image is asked for);
 *   when neither is needed the image is copied. The horizontal pass only produces the source rows the
 *   vertical pass will read (from the first row of the first output row's window to the end of the last one).
 * - Kernel: cubic convolution with a = −0.5, support 2. When shrinking by a factor s > 1 the kernel is
 *   stretched by s (support 2·s, argument divided by s): this is the antialiasing. Growing keeps s = 1.
 * - Window of output pixel i: centre c = box0 + (i + 0.5)·scale; first source pixel trunc(c − support + 0.5)
 *   clamped at 0, end trunc(c + support + 0.5) clamped at the input size; the weight of source pixel j is
 *   kernel((j − c + 0.5)/s), then the window's weights are divided by their sum (when non-zero).
 * - Fixed point: each weight becomes an integer, w·2^22 rounded half away from zero (22 = 32 − 8 − 2 bits:
 *   8 for the pixel, 2 of headroom for the negative lobes). A pass sums pixel·weight on top of 2^21 (the
 *   rounding half), shifts right by 22 (arithmetic, so floor) and clamps to 0..255.
 * The math below is on doubles holding integers below 2^31, so it matches the C int arithmetic exactly.
 */
import { UsageError } from "../../util/errors.js";
import { checkRgbImage, type RgbImage } from "./rgb-image.js";

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);
const BICUBIC_SUPPORT = 2;

function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Per output pixel: the first source index, the window length, and `ksize` fixed-point weights. */
export interface ResampleCoeffs {
  ksize: number;
  /** [first, length] per output pixel. */
  bounds: Int32Array;
  /** outSize × ksize weights in units of 2^-22 (zero past each window's length). */
  weights: Int32Array;
}

/** Pillow's `precompute_coeffs` followed by `normalize_coeffs_8bpc`, for the span [in0, in1) of the input. */
export function precomputeCoeffs(inSize: number, in0: number, in1: number, outSize: number): ResampleCoeffs {
  // The box edges are C floats, and their difference is taken in float before widening to double.
  in0 = Math.fround(in0);
  in1 = Math.fround(in1);
  const scale = Math.fround(in1 - in0) / outSize;
  const filterscale = Math.max(scale, 1);
  const support = BICUBIC_SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const v = bicubic((x + xmin - center + 0.5) * ss);
      w[x] = v;
      ww += v;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      weights[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

/** Rounds a fixed-point sum back to a byte: floor(sum / 2^22) clamped to 0..255. */
function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : Math.min(v, 255);
}

/** Horizontal pass over source rows [rowFirst, rowFirst + rows). */
function resampleHorizontal(
  src: RgbImage,
  outWidth: number,
  rowFirst: number,
  rows: number,
  c: ResampleCoeffs,
): RgbImage {
  const { ksize, bounds, weights } = c;
  const inRow = src.width * 3;
  const out = new Uint8Array(outWidth * rows * 3);
  const s = src.data;
  for (let yy = 0; yy < rows; yy++) {
    const rowBase = (yy + rowFirst) * inRow;
    const outBase = yy * outWidth * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2];
      const n = bounds[xx * 2 + 1];
      const k = xx * ksize;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      let p = rowBase + xmin * 3;
      for (let x = 0; x < n; x++, p += 3) {
        const wt = weights[k + x];
        r += s[p] * wt;
        g += s[p + 1] * wt;
        b += s[p + 2] * wt;
      }
      const o = outBase + xx * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return { width: outWidth, height: rows, data: out };
}

/** Vertical pass; `c.bounds` index rows of `src`. Accumulates whole rows at a time (cache friendly). */
function resampleVertical(src: RgbImage, outHeight: number, c: ResampleCoeffs): RgbImage {
  const { ksize, bounds, weights } = c;
  const rowLen = src.width * 3;
  const out = new Uint8Array(rowLen * outHeight);
  const acc = new Float64Array(rowLen);
  const s = src.data;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2];
    const n = bounds[yy * 2 + 1];
    acc.fill(HALF);
    for (let y = 0; y < n; y++) {
      const wt = weights[yy * ksize + y];
      if (wt === 0) continue;
      const base = (ymin + y) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += s[base + i] * wt;
    }
    const o = yy * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = clip8(acc[i]);
  }
  return { width: src.width, height: outHeight, data: out };
}

/**
 * Resizes to width × height with Pillow's BICUBIC filter (see the top of this file), optionally from a
 * source box [x0, y0, x1, y1] as `Image.resize(size, BICUBIC, box)` takes it.
 *
 * @example resizeBicubic(img, 384, 384) // what SigLIP's processor does to an `image_aspect_ratio: square` image
 */
export function resizeBicubic(
  img: RgbImage,
  width: number,
  height: number,
  box: readonly [number, number, number, number] = [0, 0, img.width, img.height],
): RgbImage {
  checkRgbImage(img);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new UsageError(`resize target must be positive integers, got ${width}×${height}`);
  }
  const [x0, y0, x1, y1] = box;
  if (!(x0 >= 0 && y0 >= 0 && x1 <= img.width && y1 <= img.height && x1 > x0 && y1 > y0)) {
    throw new UsageError(`resize box [${box.join(", ")}] is not inside the ${img.width}×${img.height} image`);
  }
  // Pillow's Image.resize returns a plain copy when nothing changes.
  if (width === img.width && height === img.height && x0 === 0 && y0 === 0) {
    if (x1 === img.width && y1 === img.height) return { width, height, data: img.data.slice() };
  }
  const needHorizontal = width !== img.width || x0 !== 0 || x1 !== width;
  const needVertical = height !== img.height || y0 !== 0 || y1 !== height;

  const vert = precomputeCoeffs(img.height, y0, y1, height);
  const rowFirst = vert.bounds[0];
  const rowEnd = vert.bounds[height * 2 - 2] + vert.bounds[height * 2 - 1];

  let cur = img;
  if (needHorizontal) {
    const horiz = precomputeCoeffs(img.width, x0, x1, width);
    // The intermediate image holds only rows rowFirst..rowEnd, so the vertical windows shift with it.
    for (let i = 0; i < height; i++) vert.bounds[i * 2] -= rowFirst;
    cur = resampleHorizontal(img, width, rowFirst, rowEnd - rowFirst, horiz);
  }
  if (needVertical) cur = resampleVertical(cur, height, vert);
  if (cur === img) return { width: img.width, height: img.height, data: img.data.slice() };
  return cur;
}
