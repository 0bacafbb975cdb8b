/**
 * `imp export gguf`: a model as llama.cpp files, the LLM (with its tokenizer) and the `mmproj` (vision tower +
 * connector), each written atomically and streamed tensor by tensor.
 *
 * @example
 * const r = await exportGgufFromFolder("checkpoints/Imp-v1.5-3B-Phi2", "out", { quant: "q4_0" });
 * // out/Imp-v1.5-3B-Phi2-Q4_0.gguf, out/mmproj-Imp-v1.5-3B-Phi2-F16.gguf
 */
import { mkdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { Backend } from "../../backend/backend.js";
import { readTokenizerFolder, type TokenizerFiles } from "../../io/tokenizer/folder.js";
import { CheckpointError, UsageError } from "../../util/errors.js";
import { llmMetadata, llmPlan } from "./llm.js";
import { imageNormalization, mmprojMetadata, mmprojPlan, mmprojUnsupported } from "./mmproj.js";
import { folderSource, type ParamSource } from "./params.js";
import { type GgufQuant, planTensor } from "./tensors.js";
import { tokenizerMetadata } from "./tokenizer.js";
import { type GgufWriteResult, writeGguf } from "./writer.js";

export interface GgufExportOptions {
  /** Format of the LLM's matrices and embeddings (default f16). */
  quant?: GgufQuant;
  /** Format of the vision tower's and connector's matrices (default f16). */
  mmprojQuant?: Exclude<GgufQuant, "q4_0">;
  /** Write the mmproj file (default: when the model has a vision tower clip.cpp can run). */
  mmproj?: boolean;
  /** general.name and the file name stem (default: the model folder's name). */
  name?: string;
}

export interface GgufExportResult {
  llm: GgufWriteResult;
  mmproj: GgufWriteResult | null;
  /** Things the user should know: approximations, parts left out. */
  warnings: string[];
}

function safeStem(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "");
  return s || "model";
}

/**
 * llama.cpp gives Phi-3's special tokens their strip flags when general.name contains "phi3" or "phi-3", and
 * aborts loading if one of the tokens it names is missing from the vocabulary (a test vocabulary, say).
 */
function phi3NameGuard(name: string, tokens: readonly string[], warnings: string[]): string {
  if (!/phi-?3/i.test(name)) return name;
  const have = new Set(tokens);
  const missing = ["<unk>", "<s>", "</s>", "<|endoftext|>"].filter((t) => !have.has(t));
  if (missing.length === 0) return name;
  const safe = name.replace(/phi(-?)3/gi, "Phi$1_3");
  warnings.push(
    `general.name "${safe}" instead of "${name}": llama.cpp expects ${missing.join(", ")} in a vocabulary ` +
      "named Phi-3 and this one lacks them",
  );
  return safe;
}

/** Exports the parameters of `src` (and the tokenizer) into `outDir`. */
export function exportGguf(
  src: ParamSource,
  tokenizer: TokenizerFiles,
  outDir: string,
  name: string,
  opts: GgufExportOptions = {},
): GgufExportResult {
  const quant = opts.quant ?? "f16";
  const mquant = opts.mmprojQuant ?? "f16";
  const stem = safeStem(name);
  const warnings: string[] = [];
  const why = mmprojUnsupported(src.config);
  if (opts.mmproj === true && why) throw new UsageError(`cannot write an mmproj: ${why}`);
  if (why && src.config.vision) warnings.push(`no mmproj written: ${why}`);
  const withMmproj = opts.mmproj !== false && !why;

  // Everything that can be checked is checked before the first byte is written.
  const vocab = tokenizerMetadata(tokenizer, src.config);
  warnings.push(...vocab.warnings);
  const llmName = phi3NameGuard(name, vocab.tokens, warnings);
  const llmKvs = [...llmMetadata(src.config, llmName, quant), ...vocab.kvs];
  const llmTensors = llmPlan(src.config.llm).map((e) => planTensor(src, e, quant));
  const mm = withMmproj
    ? {
        kvs: mmprojMetadata(src.config, name, mquant, imageNormalization(src.config, src.visionFolder)),
        tensors: mmprojPlan(src.config, (n) => src.shapes.has(n)).map((e) => planTensor(src, e, mquant)),
      }
    : null;

  mkdirSync(outDir, { recursive: true });
  const llm = writeGguf(join(outDir, `${stem}-${quant.toUpperCase()}.gguf`), llmKvs, llmTensors);
  let mmproj: GgufWriteResult | null = null;
  if (mm) {
    mmproj = writeGguf(join(outDir, `mmproj-${stem}-${mquant.toUpperCase()}.gguf`), mm.kvs, mm.tensors);
    warnings.push(
      "clip.cpp's projector uses the tanh GELU where mlp2x_gelu has the exact one (tiny differences)",
    );
  }
  return { llm, mmproj, warnings };
}

export interface GgufFolderExportOptions extends GgufExportOptions {
  /** Backend whose memory holds one tensor at a time while converting (the caller's, and the caller frees it). */
  backend: Backend;
  /** LLaVA-1.5: the local CLIP folder, when config.json names a hub model. */
  visionTower?: string;
  /** Where the tokenizer files are (default: the model folder). */
  tokenizerDir?: string;
}

/** Exports a checkpoint folder, reading it tensor by tensor. */
export async function exportGgufFromFolder(
  folder: string,
  outDir: string,
  opts: GgufFolderExportOptions,
): Promise<GgufExportResult> {
  const dir = resolve(folder);
  let tokenizer: TokenizerFiles;
  try {
    tokenizer = await readTokenizerFolder(opts.tokenizerDir ?? dir);
  } catch (e) {
    throw new CheckpointError(
      `${(e as Error).message}. A GGUF file carries the vocabulary; add the tokenizer files to the model folder ` +
        "(or pass --tokenizer DIR).",
      { cause: e },
    );
  }
  const src = folderSource(dir, opts.backend, opts.visionTower);
  try {
    return exportGguf(src, tokenizer, outDir, opts.name ?? basename(dir), opts);
  } finally {
    src.close();
  }
}
