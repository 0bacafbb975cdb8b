/**
 * `expand2square` from the LLaVA and Imp code (`llava/mm_utils.py`): a square canvas of side max(w, h) filled
 * with the pad colour, the image pasted at ((m − w)//2, (m − h)//2). A square image is returned as it is
 * (the official function returns the same object; here a copy, so callers may mutate the result).
 * The pad colour the official code passes is `int(x * 255)` of the processor's `image_mean`: grey 127 for
 * SigLIP (mean 0.5), (122, 116, 104) for CLIP; `padColorFromMean` computes it.
 */
import { centreOffset, checkRgb, checkRgbImage, type Rgb, type RgbImage } from "./rgb-image.js";

export function expandToSquare(img: RgbImage, rgb: Rgb): RgbImage {
  checkRgbImage(img);
  checkRgb(rgb, "pad colour");
  const { width: w, height: h } = img;
  if (w === h) return { width: w, height: h, data: img.data.slice() };
  const m = Math.max(w, h);
  const out = new Uint8Array(m * m * 3);
  for (let i = 0; i < m * m * 3; i += 3) {
    out[i] = rgb[0];
    out[i + 1] = rgb[1];
    out[i + 2] = rgb[2];
  }
  const left = centreOffset(m, w);
  const top = centreOffset(m, h);
  for (let y = 0; y < h; y++) {
    out.set(img.data.subarray(y * w * 3, (y + 1) * w * 3), ((y + top) * m + left) * 3);
  }
  return { width: m, height: m, data: out };
}

/** `tuple(int(x * 255) for x in image_mean)`, in double precision as Python computes it. */
export function padColorFromMean(mean: readonly [number, number, number]): [number, number, number] {
  return [Math.trunc(mean[0] * 255), Math.trunc(mean[1] * 255), Math.trunc(mean[2] * 255)];
}
