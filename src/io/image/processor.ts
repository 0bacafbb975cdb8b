/**
 * The two image processors the supported models use, from decoded RGB to the vision tower's input.
 *
 * - `siglip` (Imp, SigLIP's processor as Imp configures it): `square` squashes the whole image to S×S with
 *   Pillow bicubic; `pad` first expands it to a square with the pad colour (`expand2square`), then resizes.
 *   Then rescale (1/255) and normalise (mean = std = 0.5).
 * - `clip` (LLaVA-1.5, transformers' CLIPImageProcessor): optional `pad` as above (pad colour = the CLIP mean
 *   colour); resize so the shorter side becomes `shortestEdge` and the longer `int(S · long / short)` (Python
 *   truncation of the float quotient), Pillow bicubic; centre crop; rescale; normalise with CLIP's mean/std.
 *   LLaVA runs this plain processor for any `image_aspect_ratio` other than `pad` (our `square`), which keeps
 *   the aspect ratio and crops, unlike Imp's `square`.
 * Reference: fixtures README (`preprocess/`, `preprocess-clip/`), LLaVA `llava/mm_utils.py`, transformers
 * `image_processing_clip.py` and `image_transforms.py`.
 */
import { UsageError } from "../../util/errors.js";
import { centerCrop } from "./crop.js";
import { expandToSquare, padColorFromMean } from "./expand.js";
import { toPixelValues } from "./normalize.js";
import { resizeBicubic } from "./resize.js";
import { checkRgb, checkRgbImage, type Rgb, type RgbImage } from "./rgb-image.js";

export type Triple = readonly [number, number, number];

/** `square`: no padding; `pad`: expand to a square with `padColor` first (`image_aspect_ratio: "pad"`). */
export type AspectMode = "square" | "pad";

export interface SiglipProcessorSpec {
  kind: "siglip";
  /** Output side S (the tower's `image_size`). */
  size: number;
  mean: Triple;
  std: Triple;
  /** `rescale_factor`, 1/255. */
  rescale: number;
  aspect: AspectMode;
  padColor: Rgb;
}

export interface ClipProcessorSpec {
  kind: "clip";
  /** The shorter side after the resize (`size.shortest_edge`). */
  shortestEdge: number;
  /** Centre crop size: a number for a square, or width and height. */
  cropSize: number | { width: number; height: number };
  mean: Triple;
  std: Triple;
  rescale: number;
  aspect: AspectMode;
  padColor: Rgb;
}

export type ImageProcessorSpec = SiglipProcessorSpec | ClipProcessorSpec;

/** The processor output's size: [3, height, width] for the tower. */
export function outputSize(spec: ImageProcessorSpec): { width: number; height: number } {
  if (spec.kind === "siglip") return { width: spec.size, height: spec.size };
  return typeof spec.cropSize === "number"
    ? { width: spec.cropSize, height: spec.cropSize }
    : { width: spec.cropSize.width, height: spec.cropSize.height };
}

/** Imp's SigLIP processor for a tower of side `size`: mean = std = 0.5, rescale 1/255, pad colour 127. */
export function siglipSpec(size: number, aspect: AspectMode = "square"): SiglipProcessorSpec {
  const mean: Triple = [0.5, 0.5, 0.5];
  return {
    kind: "siglip",
    size,
    mean,
    std: [0.5, 0.5, 0.5],
    rescale: 1 / 255,
    aspect,
    padColor: padColorFromMean(mean),
  };
}

/** The shortest-edge resize target of transformers' `get_resize_output_image_size(default_to_square=False)`. */
export function shortestEdgeSize(
  width: number,
  height: number,
  shortestEdge: number,
): { width: number; height: number } {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((shortestEdge * long) / short);
  return width <= height
    ? { width: shortestEdge, height: newLong }
    : { width: newLong, height: shortestEdge };
}

function checkSpec(spec: ImageProcessorSpec): void {
  const posInt = (v: number, what: string) => {
    if (!Number.isInteger(v) || v < 1)
      throw new UsageError(`image processor ${what} must be a positive integer, got ${v}`);
  };
  if (spec.aspect !== "square" && spec.aspect !== "pad") {
    throw new UsageError(
      `image processor aspect must be "square" or "pad", got ${JSON.stringify(spec.aspect)}`,
    );
  }
  checkRgb(spec.padColor, "image processor padColor");
  if (spec.kind === "siglip") {
    posInt(spec.size, "size");
  } else if (spec.kind === "clip") {
    posInt(spec.shortestEdge, "shortestEdge");
    const { width, height } = outputSize(spec);
    posInt(width, "crop width");
    posInt(height, "crop height");
    // After the resize the short side is shortestEdge, so a larger crop would need transformers' zero padding
    // (whose offsets differ between versions); no released CLIP config asks for it.
    if (width > spec.shortestEdge || height > spec.shortestEdge) {
      throw new UsageError(
        `CLIP crop ${width}×${height} is larger than the shortest edge ${spec.shortestEdge}; not supported`,
      );
    }
  } else {
    throw new UsageError(`unknown image processor kind ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  }
}

/**
 * Runs the whole processor: RGB image → Float32Array [3, H, W] (channel first; the batch dimension of the
 * official `pixel_values` [1, 3, H, W] is left to the caller).
 *
 * @example
 * const pixels = preprocessForTower(await decodeImage(bytes), siglipSpec(384, "pad"));
 */
export function preprocessForTower(img: RgbImage, spec: ImageProcessorSpec): Float32Array {
  checkRgbImage(img);
  checkSpec(spec);
  const base = spec.aspect === "pad" ? expandToSquare(img, spec.padColor) : img;
  const norm = { mean: spec.mean, std: spec.std, rescale: spec.rescale };
  if (spec.kind === "siglip") return toPixelValues(resizeBicubic(base, spec.size, spec.size), norm);
  const target = shortestEdgeSize(base.width, base.height, spec.shortestEdge);
  const resized = resizeBicubic(base, target.width, target.height);
  const { width, height } = outputSize(spec);
  return toPixelValues(centerCrop(resized, width, height), norm);
}
