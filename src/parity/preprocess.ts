/**
 * Image-pipeline parity for `imp parity`: every image of a preprocess fixture folder (shared/fixtures/README.md,
 * `preprocess/` for Imp's SigLIP processor, `preprocess-clip/` for LLaVA-1.5's CLIP processor) against the
 * goldens of the reference (Pillow + transformers). The decoder is checked against `decoded_rgb` (PNG exactly;
 * JPEG within 2 levels, the README's allowance between JPEG decoders); every later step starts from the golden
 * `decoded_rgb` and must match byte for byte, and `pixel_values` within 1e-6.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { centerCrop } from "../io/image/crop.js";
import { decodeImage } from "../io/image/decode.js";
import { expandToSquare } from "../io/image/expand.js";
import type { ImageProcessorSpec } from "../io/image/processor.js";
import { preprocessForTower, shortestEdgeSize } from "../io/image/processor.js";
import { resizeBicubic } from "../io/image/resize.js";
import type { RgbImage } from "../io/image/rgb-image.js";
import { Checkpoint } from "../io/safetensors/index.js";
import { FormatError } from "../util/errors.js";
import type { ParityResult } from "./result.js";

interface Manifest {
  target_size: number;
  shortest_edge?: number;
  crop_size?: [number, number];
  image_mean: [number, number, number];
  image_std: [number, number, number];
  pad_color: [number, number, number];
  images: Array<{ key: string; file: string; format: string; variants: Record<string, unknown> }>;
}

/** Max absolute difference (∞ when sizes differ). */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export async function preprocessParity(dir: string): Promise<ParityResult[]> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;
  } catch (e) {
    throw new FormatError(`${join(dir, "manifest.json")}: ${(e as Error).message}`);
  }
  const clip = manifest.shortest_edge !== undefined || manifest.crop_size !== undefined;
  const golden = Checkpoint.open(join(dir, "golden.safetensors"));
  const results: ParityResult[] = [];
  const rgb = (name: string): RgbImage => {
    const e = golden.info(name);
    return { height: e.shape[0]!, width: e.shape[1]!, data: golden.readBytes(name) };
  };
  const f32 = (name: string): Float32Array => {
    const b = golden.readBytes(name);
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };
  const push = (output: string, error: number, tolerance: number, detail?: string) =>
    results.push({ output, error, tolerance, ok: error <= tolerance, detail });
  const sameImage = (output: string, ours: RgbImage, ref: RgbImage, tol = 0) =>
    ours.width !== ref.width || ours.height !== ref.height
      ? push(
          output,
          Number.POSITIVE_INFINITY,
          tol,
          `size ${ours.width}×${ours.height} vs ${ref.width}×${ref.height}`,
        )
      : push(output, maxDiff(ours.data, ref.data), tol);
  try {
    for (const img of manifest.images) {
      const decodedRef = rgb(`${img.key}.decoded_rgb`);
      const ours = await decodeImage(readFileSync(join(dir, img.file)), { source: img.file });
      sameImage(`${img.key}.decoded_rgb`, ours, decodedRef, img.format === "JPEG" ? 2 : 0);
      for (const variant of Object.keys(img.variants) as Array<"square" | "pad">) {
        const spec: ImageProcessorSpec = clip
          ? {
              kind: "clip",
              shortestEdge: manifest.shortest_edge ?? manifest.target_size,
              cropSize: manifest.crop_size
                ? { width: manifest.crop_size[0], height: manifest.crop_size[1] }
                : manifest.target_size,
              mean: manifest.image_mean,
              std: manifest.image_std,
              rescale: 1 / 255,
              aspect: variant,
              padColor: manifest.pad_color,
            }
          : {
              kind: "siglip",
              size: manifest.target_size,
              mean: manifest.image_mean,
              std: manifest.image_std,
              rescale: 1 / 255,
              aspect: variant,
              padColor: manifest.pad_color,
            };
        let src = decodedRef;
        if (variant === "pad") {
          src = expandToSquare(decodedRef, manifest.pad_color);
          sameImage(`${img.key}.pad.canvas_rgb`, src, rgb(`${img.key}.pad.canvas_rgb`));
        }
        if (spec.kind === "clip") {
          const { width, height } = shortestEdgeSize(src.width, src.height, spec.shortestEdge);
          const resized =
            width === src.width && height === src.height ? src : resizeBicubic(src, width, height);
          sameImage(`${img.key}.${variant}.resized_rgb`, resized, rgb(`${img.key}.${variant}.resized_rgb`));
          const size = manifest.crop_size ?? [manifest.target_size, manifest.target_size];
          sameImage(
            `${img.key}.${variant}.cropped_rgb`,
            centerCrop(resized, size[0], size[1]),
            rgb(`${img.key}.${variant}.cropped_rgb`),
          );
        } else {
          const resized = resizeBicubic(src, spec.size, spec.size);
          sameImage(`${img.key}.${variant}.resized_rgb`, resized, rgb(`${img.key}.${variant}.resized_rgb`));
        }
        push(
          `${img.key}.${variant}.pixel_values`,
          maxDiff(preprocessForTower(decodedRef, spec), f32(`${img.key}.${variant}.pixel_values`)),
          1e-6,
        );
      }
    }
  } finally {
    golden.close();
  }
  return results;
}
