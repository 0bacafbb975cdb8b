/**
 * Which files of a model repo imp-ts needs: config.json, the safetensors weights (one file, or the index and the
 * shards it names), the tokenizer files, the image preprocessor's and generation configs, and a vision tower folder
 * the config names inside the repo (LLaVA's mm_vision_tower, Imp-196's SigLIP folder). Everything else (PyTorch
 * .bin, TensorFlow, ONNX and GGUF copies, the modeling code, images) stays on the Hub.
 */
import { HubError } from "./errors.js";

export const CONFIG_FILE = "config.json";
export const INDEX_FILE = "model.safetensors.index.json";
export const SINGLE_WEIGHTS_FILE = "model.safetensors";

/** Small files read beside the weights (each only if the repo has it). */
export const SIDE_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
  "vocab.json",
  "merges.txt",
  "tokenizer.model",
  "preprocessor_config.json",
  "generation_config.json",
];

/** Files of a vision tower folder (or repo): its config, preprocessor config and weights. */
const TOWER_FILE =
  /^(config\.json|preprocessor_config\.json|[^/]+\.safetensors|[^/]+\.safetensors\.index\.json)$/;

/** The shard files an index's weight_map names, each once, in order. */
export function shardsOfIndex(index: unknown, file: string): string[] {
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (!map || typeof map !== "object" || Array.isArray(map))
    throw new HubError(`${file}: no "weight_map" object; is it a safetensors index?`);
  const shards = new Set<string>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== "string" || shard.includes("..") || shard.startsWith("/"))
      throw new HubError(`${file}: tensor "${name}" maps to ${JSON.stringify(shard)}, not a shard file name`);
    shards.add(shard);
  }
  return [...shards];
}

/**
 * The weights of a folder (`prefix` "" for the repo root, "tower/" for a sub-folder): its index (the shards then
 * come from `shardsOfIndex`), or its single model.safetensors. Throws, naming what the repo has instead, when
 * it has neither.
 */
export function weightsOf(
  files: ReadonlySet<string>,
  prefix: string,
  repo: string,
): { index: string } | { single: string } {
  if (files.has(prefix + INDEX_FILE)) return { index: prefix + INDEX_FILE };
  if (files.has(prefix + SINGLE_WEIGHTS_FILE)) return { single: prefix + SINGLE_WEIGHTS_FILE };
  const others = [...files].filter(
    (f) => f.startsWith(prefix) && /\.(bin|pt|pth|h5|msgpack|gguf|onnx|safetensors)$/.test(f),
  );
  throw new HubError(
    `${repo}${prefix ? ` (${prefix.slice(0, -1)})` : ""}: no ${SINGLE_WEIGHTS_FILE} or ${INDEX_FILE}` +
      (others.length > 0
        ? `; the repo has ${others.slice(0, 4).join(", ")}${others.length > 4 ? ", …" : ""}. imp-ts reads safetensors checkpoints only`
        : "; it has no weights imp-ts can read"),
  );
}

/** The small side files (tokenizer, preprocessor, generation config) this repo has. */
export function sideFilesOf(files: ReadonlySet<string>, prefix = ""): string[] {
  return SIDE_FILES.map((f) => prefix + f).filter((f) => files.has(f));
}

/**
 * The folder inside the repo that config.json's mm_vision_tower names, if there is one: the name itself
 * ("clip-vision", "./siglip-so400m-patch14-196") or its last part ("google/siglip-so400m-patch14-196" when the
 * repo ships a "siglip-so400m-patch14-196" folder). Returns "folder/" or null.
 */
export function towerFolderIn(files: ReadonlySet<string>, towerName: unknown): string | null {
  if (typeof towerName !== "string" || towerName.trim() === "") return null;
  const clean = towerName.trim().replace(/^\.\//, "").replace(/\/+$/, "");
  const last = clean.split("/").pop()!;
  for (const cand of [clean, last]) {
    const prefix = `${cand}/`;
    if ([...files].some((f) => f.startsWith(prefix))) return prefix;
  }
  return null;
}

/**
 * The tower folder's own files (config, preprocessor config, and its weights unless `weights` is false) other
 * than the shards of an index.
 */
export function towerFilesOf(files: ReadonlySet<string>, prefix: string, weights = true): string[] {
  return [...files]
    .filter((f) => f.startsWith(prefix) && TOWER_FILE.test(f.slice(prefix.length)))
    .filter((f) => weights || !/\.safetensors(\.index\.json)?$/.test(f))
    .sort();
}
