/**
 * Where the scripts around the built-in model look by default: the model train:tiny writes, its work folder, and
 * the world inside that (one place, so a script's default cannot drift from train:tiny's).
 */
export const TINY_MODEL = "models/imp-tiny";
export const TINY_WORK = ".cache/train-tiny";
export const TINY_WORLD = `${TINY_WORK}/world`;

/** parseArgs options for a script that reads a built model and its train:tiny world. */
export const MODEL_AND_WORLD = {
  model: { type: "string", default: TINY_MODEL },
  world: { type: "string", default: TINY_WORLD },
} as const;
