/**
 * Where the scripts around the built-in model look by default: the model train:tiny writes, its work folder, and
 * the world inside that (one place, so a script's default cannot drift from train:tiny's).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { SceneOptions } from "../src/synth/world.js";
import { worldSceneOptions } from "../src/synth/write-world.js";

export const TINY_MODEL = "models/imp-tiny";
export const TINY_WORK = ".cache/train-tiny";
export const TINY_WORLD = `${TINY_WORK}/world`;

/** parseArgs options for a script that reads a built model and its train:tiny world. */
export const MODEL_AND_WORLD = {
  model: { type: "string", default: TINY_MODEL },
  world: { type: "string", default: TINY_WORLD },
} as const;

/**
 * The scene options of the world a model was made on: `world`'s world.json when given, else the one train:tiny
 * copies into the model folder, else the default world's.
 */
export function modelSceneOptions(model: string, world?: string): SceneOptions {
  if (world) return worldSceneOptions(world);
  return existsSync(join(model, "world.json")) ? worldSceneOptions(model) : {};
}
