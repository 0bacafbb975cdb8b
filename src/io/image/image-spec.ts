/**
 * The image processor a model folder implies: Imp's SigLIP processor at the tower's size (with the mean/std of a
 * `preprocessor_config.json` beside the weights when it gives them; the Imp releases use 0.5), or LLaVA-1.5's CLIP
 * processor read from the tower folder's `preprocessor_config.json` (./clip-config.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../util/errors.js";
import { readClipPreprocessorConfig } from "./clip-config.js";
import { padColorFromMean } from "./expand.js";
import type { AspectMode, ImageProcessorSpec } from "./processor.js";
import { siglipSpec } from "./processor.js";

/** What a model's config says about its images: the tower's processor kind and size, and the aspect mode. */
export interface ImageConfig {
  vision: { kind: "siglip" | "clip"; imageSize: number } | null;
  /** config.json's image_aspect_ratio: "pad", or anything else for a plain resize. */
  imageAspectRatio: string;
}

/** The processor spec a model's config implies (null: a text-only model), with its folders' preprocessor_config.json. */
export async function imageSpecFor(
  config: ImageConfig,
  folder: string,
  visionFolder: string | null,
): Promise<ImageProcessorSpec | null> {
  const tower = config.vision;
  if (!tower) return null;
  const aspect: AspectMode = config.imageAspectRatio === "pad" ? "pad" : "square";
  if (tower.kind === "clip") {
    const dir = [visionFolder, folder].find((d) => d && existsSync(join(d, "preprocessor_config.json")));
    if (!dir)
      throw new UsageError(`no preprocessor_config.json for the CLIP tower in ${visionFolder ?? folder}`);
    return readClipPreprocessorConfig(join(dir, "preprocessor_config.json"), aspect);
  }
  const spec = siglipSpec(tower.imageSize, aspect);
  const file = join(folder, "preprocessor_config.json");
  if (existsSync(file)) {
    const pc = JSON.parse(readFileSync(file, "utf8")) as { image_mean?: number[]; image_std?: number[] };
    if (pc.image_mean?.length === 3 && pc.image_std?.length === 3) {
      const mean = pc.image_mean as unknown as readonly [number, number, number];
      return {
        ...spec,
        mean,
        std: pc.image_std as unknown as readonly [number, number, number],
        padColor: padColorFromMean(mean),
      };
    }
  }
  return spec;
}
