/**
 * What a parity fixture folder holds (shared/fixtures/README.md): a model (config.json + golden.safetensors) or
 * an image preprocessing set (manifest.json + golden.safetensors).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../util/errors.js";

export type FixtureKind = "model" | "preprocess";

export function fixtureKind(dir: string): FixtureKind {
  const golden = existsSync(join(dir, "golden.safetensors"));
  if (golden && existsSync(join(dir, "config.json"))) return "model";
  if (golden && existsSync(join(dir, "manifest.json"))) return "preprocess";
  throw new UsageError(
    `${dir} is not a parity fixture: expected golden.safetensors with config.json (a model) or with ` +
      "manifest.json (image preprocessing)",
  );
}
