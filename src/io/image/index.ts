/**
 * The image pipeline: decode (PNG, JPEG, WebP, GIF → RGB as Pillow converts them), then the Imp (SigLIP)
 * or LLaVA-1.5 (CLIP) processor: pad, Pillow-exact bicubic resize, crop, rescale and normalise.
 *
 * @example
 * const img = await decodeImage(bytes, { source: "cat.jpg" });
 * const pixelValues = preprocessForTower(img, siglipSpec(384, "pad")); // Float32Array [3, 384, 384]
 */
export { clipSpecFromPreprocessorConfig, readClipPreprocessorConfig } from "./clip-config.js";
export { centerCrop } from "./crop.js";
export { DEFAULT_MAX_PIXELS, type DecodeImageOptions, decodeImage } from "./decode.js";
export { expandToSquare, padColorFromMean } from "./expand.js";
export { detectFormat, type ImageFormat, type ImageHeader, readImageHeader } from "./header.js";
export { type ImageConfig, imageSpecFor } from "./image-spec.js";
export { type NormalizeOptions, toPixelValues } from "./normalize.js";
export {
  type AspectMode,
  type ClipProcessorSpec,
  type ImageProcessorSpec,
  outputSize,
  preprocessForTower,
  type SiglipProcessorSpec,
  shortestEdgeSize,
  siglipSpec,
  type Triple,
} from "./processor.js";
export { resizeBicubic } from "./resize.js";
export { centreOffset, type Rgb, type RgbImage, rgbImage } from "./rgb-image.js";
