/**
 * The image processor a model folder implies: Imp's SigLIP processor at the tower's size (with the mean/std of a
 * `preprocessor_config.json` in the tower's own folder or beside the weights when it gives them; the Imp releases
 * use 0.5), or LLaVA-1.5's CLIP processor read from the tower folder's `preprocessor_config.json` (./clip-config.ts).
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

/**
 * The processor spec a model's config implies (null: a text-only model), with the preprocessor_config.json of the
 * tower's own folder (`towerFolder`: LLaVA's CLIP folder, Imp-v1.5-3B-196's SigLIP folder), else the model folder's.
 */
export async function imageSpecFor(
  config: ImageConfig,
  folder: string,
  towerFolder: string | null,
): Promise<ImageProcessorSpec | null> {
  const tower = config.vision;
  if (!tower) return null;
  const aspect: AspectMode = config.imageAspectRatio === "pad" ? "pad" : "square";
  const dir = [towerFolder, folder].find((d) => d && existsSync(join(d, "preprocessor_config.json")));
  if (tower.kind === "clip") {
    if (!dir)
      throw new UsageError(`no preprocessor_config.json for the CLIP tower in ${towerFolder ?? folder}`);
    return readClipPreprocessorConfig(join(dir, "preprocessor_config.json"), aspect);
  }
  // The side is the tower's image_size (its config, which sets the position table), whatever the processor says.
  const spec = siglipSpec(tower.imageSize, aspect);
  if (dir) {
    const file = join(dir, "preprocessor_config.json");
    let pc: { image_mean?: number[]; image_std?: number[] };
    try {
      pc = JSON.parse(readFileSync(file, "utf8")) as typeof pc;
    } catch (e) {
      throw new UsageError(`${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
    }
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
