/**
 * Reads a CLIP `preprocessor_config.json` (the file beside a CLIP vision tower, e.g.
 * openai/clip-vit-large-patch14-336) into a `clip` processor spec. Both spellings transformers has written
 * are accepted: `size: 336` or `size: {shortest_edge: 336}`, `crop_size: 336` or `{height, width}`.
 * Settings the official pipeline never uses (no resize, no crop, a filter other than bicubic) are refused
 * rather than silently ignored.
 */
import { CheckpointError } from "../../util/errors.js";
import { padColorFromMean } from "./expand.js";
import type { AspectMode, ClipProcessorSpec, Triple } from "./processor.js";

const BICUBIC = 3;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function clipSpecFromPreprocessorConfig(
  json: unknown,
  aspect: AspectMode,
  source = "preprocessor_config.json",
): ClipProcessorSpec {
  const fail = (msg: string): never => {
    throw new CheckpointError(`${source}: ${msg}`);
  };
  if (!isRecord(json)) return fail("expected a JSON object");
  const posInt = (v: unknown, key: string): number =>
    typeof v === "number" && Number.isInteger(v) && v > 0
      ? v
      : fail(`"${key}" must be a positive integer, got ${JSON.stringify(v)}`);
  const triple = (key: string): Triple => {
    const v = json[key];
    if (!Array.isArray(v) || v.length !== 3 || v.some((x) => typeof x !== "number" || !Number.isFinite(x))) {
      return fail(`"${key}" must be 3 numbers, got ${JSON.stringify(v)}`);
    }
    return [v[0], v[1], v[2]];
  };
  for (const flag of ["do_resize", "do_center_crop", "do_rescale", "do_normalize"]) {
    if (json[flag] === false)
      fail(`"${flag}": false is not supported (LLaVA's CLIP processor does every step)`);
  }
  if (json.resample !== undefined && json.resample !== BICUBIC) {
    fail(`"resample" must be ${BICUBIC} (bicubic), got ${JSON.stringify(json.resample)}`);
  }

  const size = json.size;
  let shortestEdge: number;
  if (isRecord(size)) {
    if (size.shortest_edge === undefined) {
      return fail(`"size" must give "shortest_edge" for CLIP's processor, got ${JSON.stringify(size)}`);
    }
    shortestEdge = posInt(size.shortest_edge, "size.shortest_edge");
  } else {
    shortestEdge = posInt(size, "size");
  }

  const crop = json.crop_size ?? shortestEdge;
  const cropSize = isRecord(crop)
    ? { width: posInt(crop.width, "crop_size.width"), height: posInt(crop.height, "crop_size.height") }
    : posInt(crop, "crop_size");

  const rescale = json.rescale_factor ?? 1 / 255;
  if (typeof rescale !== "number" || !Number.isFinite(rescale)) {
    fail(`"rescale_factor" must be a number, got ${JSON.stringify(rescale)}`);
  }
  const mean = triple("image_mean");
  const std = triple("image_std");
  if (std.some((s) => s === 0)) fail(`"image_std" must not contain 0`);
  return {
    kind: "clip",
    shortestEdge,
    cropSize,
    mean,
    std,
    rescale: rescale as number,
    aspect,
    padColor: padColorFromMean(mean),
  };
}

/** Node only: reads and parses the file, then as `clipSpecFromPreprocessorConfig`. */
export async function readClipPreprocessorConfig(
  path: string,
  aspect: AspectMode,
): Promise<ClipProcessorSpec> {
  const { readFile } = await import("node:fs/promises");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new CheckpointError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${path}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  return clipSpecFromPreprocessorConfig(json, aspect, path);
}
