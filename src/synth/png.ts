/**
 * PNG encoding of generated images through fast-png (pure JavaScript, fflate's deflate): 8-bit RGB, no
 * metadata, so the bytes depend only on the pixels and the fflate version.
 */
import { encode } from "fast-png";
import type { RgbImage } from "../io/image/rgb-image.js";

export function encodePng(img: RgbImage): Uint8Array {
  return encode({ width: img.width, height: img.height, data: img.data, depth: 8, channels: 3 });
}
