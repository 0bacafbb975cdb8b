/**
 * Centre crop as transformers' `center_crop` does it on a numpy image: top = (h − ch)//2, left = (w − cw)//2.
 * Only crops that fit are supported: CLIP's processor always resizes the short side to the crop size first,
 * so the official pipeline never pads here (transformers would zero-pad a too-small image).
 */
import { UsageError } from "../../util/errors.js";
import { centreOffset, checkRgbImage, type RgbImage } from "./rgb-image.js";

export function centerCrop(img: RgbImage, width: number, height: number): RgbImage {
  checkRgbImage(img);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new UsageError(`crop size must be positive integers, got ${width}×${height}`);
  }
  if (width > img.width || height > img.height) {
    throw new UsageError(`cannot centre-crop ${width}×${height} from a ${img.width}×${img.height} image`);
  }
  const top = centreOffset(img.height, height);
  const left = centreOffset(img.width, width);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const start = ((y + top) * img.width + left) * 3;
    out.set(img.data.subarray(start, start + width * 3), y * width * 3);
  }
  return { width, height, data: out };
}
