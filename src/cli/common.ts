/** Options and helpers shared by the commands that load a model. */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { Option } from "commander";
import type { BackendName } from "../backend/registry.js";
import type { WeightDType } from "../models/load.js";
import type { KVDType } from "../nn/kv-cache.js";
import { UsageError } from "../util/errors.js";

/** The model that ships with imp-ts (issue: the built-in model), used when no --model is given. */
export const BUILTIN_MODEL = fileURLToPath(new URL("../../models/imp-tiny", import.meta.url));

export interface ModelCliOptions {
  model?: string;
  revision?: string;
  dtype: WeightDType;
  visionDtype?: WeightDType;
  kvDtype?: KVDType;
  visionTower?: string;
  backend: BackendName;
  threads?: number;
}

export function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
}

export function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} must be a number ≥ 0, got "${v}"`);
    return n;
  };
}

export function addModelOptions(cmd: Command): Command {
  const dtypes = ["auto", "f32", "f16", "q8", "q4"];
  return cmd
    .option(
      "-m, --model <dir|org/name>",
      "model folder (config.json + safetensors + tokenizer), or a Hugging Face Hub id, downloaded once into the Hub cache; default: the built-in model",
    )
    .option("--revision <rev>", "with a Hub id: the branch, tag or commit (default: main)")
    .addOption(
      new Option(
        "--dtype <format>",
        "weights of the LLM in memory: as stored, f32, f16, or quantized at load",
      )
        .choices(dtypes)
        .default("auto"),
    )
    .addOption(
      new Option(
        "--vision-dtype <format>",
        "weights of the vision tower and connector (default: f16 with q8/q4)",
      ).choices(dtypes),
    )
    .addOption(
      new Option(
        "--kv-dtype <type>",
        "KV cache elements: f32 (default, the fixtures' exact parity) or f16 (half the memory and decode reads, as llama.cpp)",
      ).choices(["f16", "f32"]),
    )
    .option(
      "--vision-tower <dir>",
      "the tower folder mm_vision_tower names, if not found (LLaVA-1.5's CLIP, an Imp SigLIP folder)",
    )
    .addOption(new Option("--backend <name>", "compute backend").choices(["wasm", "js"]).default("wasm"))
    .option(
      "--threads <n>",
      "threads (default: $IMP_THREADS or the number of cores)",
      positiveInt("--threads"),
    );
}

/**
 * `--image-tokens N`: visual tokens per image (a square number). A SigLIP tower (Imp, the built-in model) then sees
 * the image at N's side with its position table resized, as Imp-v1.5-3B-196 does with 196: fewer tokens, less time.
 */
export function addImageTokensOption(cmd: Command): Command {
  return cmd.option(
    "--image-tokens <n>",
    "visual tokens per image, a square number (e.g. 196 or 64; default: the tower's own, 729 for Imp)",
    positiveInt("--image-tokens"),
  );
}

export function modelFolder(o: { model?: string }): string {
  if (o.model) return o.model;
  if (!existsSync(BUILTIN_MODEL))
    throw new UsageError(
      `no --model given and the built-in model is not installed at ${BUILTIN_MODEL}; pass --model DIR`,
    );
  return BUILTIN_MODEL;
}

export interface ResolvedModelOption {
  folder: string;
  /** The loader's visionTower: --vision-tower, or a LLaVA tower pulled from its own Hub repo. */
  visionTower: string | undefined;
  /** What the model is called: the Hub id's name, or undefined for a folder (its own name serves). */
  name: string | undefined;
  /** How results record the model: the Hub id (with the revision if one was given), or the absolute folder. */
  label: string;
}

/**
 * --model as a folder: a folder as it is, a Hub id ("MILVLG/Imp-v1.5-3B-Phi2") pulled into the Hub cache with
 * progress on stderr (or found there), no --model the built-in model.
 */
export async function resolveModelOption(o: {
  model?: string;
  revision?: string;
  visionTower?: string;
}): Promise<ResolvedModelOption> {
  const source = modelFolder(o);
  const { isHubModelId } = await import("../hub/index.js");
  if (!isHubModelId(source)) {
    if (o.revision !== undefined)
      throw new UsageError(`--revision applies to a Hub id; ${source} is a local folder`);
    return { folder: source, visionTower: o.visionTower, name: undefined, label: resolve(source) };
  }
  const { resolveModelSource } = await import("../models/source.js");
  const { downloadProgress } = await import("./download-progress.js");
  const progress = downloadProgress();
  try {
    const r = await resolveModelSource(source, { revision: o.revision, hub: { onEvent: progress.onEvent } });
    return {
      folder: r.folder,
      visionTower: o.visionTower ?? r.visionTower,
      name: source.split("/")[1],
      label: o.revision ? `${source}@${o.revision}` : source,
    };
  } finally {
    progress.finish();
  }
}
