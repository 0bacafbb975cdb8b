/**
 * The one pixel format of the image pipeline: 8-bit RGB, row-major, channels interleaved (HWC), the
 * layout of a Pillow "RGB" image and of the fixtures' `decoded_rgb`/`resized_rgb` tensors ([h, w, 3] uint8).
 */
import { ShapeError, UsageError } from "../../util/errors.js";

export interface RgbImage {
  width: number;
  height: number;
  /** HWC, RGB: pixel (x, y) channel c is at `(y * width + x) * 3 + c`. */
  data: Uint8Array;
}

export type Rgb = readonly [number, number, number];

/** Wraps `data` as an image after checking that its length is width·height·3. */
export function rgbImage(width: number, height: number, data: Uint8Array): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ShapeError(`image size must be positive integers, got ${width}×${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new ShapeError(
      `RGB image ${width}×${height} needs ${width * height * 3} bytes (HWC), got ${data.length}`,
    );
  }
  return { width, height, data };
}

/** Checks an image handed in by a caller (every public transform does, so a bad buffer fails early). */
export function checkRgbImage(img: RgbImage, what = "image"): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ShapeError(`${what}: size must be positive integers, got ${width}×${height}`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    throw new ShapeError(
      `${what}: ${width}×${height} RGB needs a Uint8Array of ${width * height * 3} bytes, got ${data?.length}`,
    );
  }
}

/** Checks a colour given as [r, g, b], each an integer 0..255. */
export function checkRgb(rgb: Rgb, what = "colour"): void {
  if (rgb.length !== 3 || rgb.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
    throw new UsageError(`${what} must be three integers 0..255, got [${rgb.join(", ")}]`);
  }
}

/**
 * Where a length `inner` starts when centred in `outer`, as the official code rounds it ((outer − inner)//2): the
 * paste of expand2square and the offset of a centre crop. Also carries a box through them (train's image-token
 * labels).
 */
export function centreOffset(outer: number, inner: number): number {
  return Math.floor((outer - inner) / 2);
}
