/**
 * The weights of a checkpoint, one file or many: `model.safetensors`, or shards listed by
 * `model.safetensors.index.json` ({"metadata": {...}, "weight_map": {tensor: shard file}}), as Hugging Face
 * stores them. Every file named is opened once and its header read once, up front, so that the index and
 * the shards are checked against each other before any weight is loaded.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { CheckpointError } from "../../util/errors.js";
import { type OpenOptions, SafetensorsFile } from "./file.js";
import type { StEntry } from "./header.js";
import { INDEX_FILE, SINGLE_FILE } from "./shard.js";

export class Checkpoint {
  private readonly byName: ReadonlyMap<string, { entry: StEntry; file: SafetensorsFile }>;
  private readonly order: readonly string[];

  private constructor(
    /** What was opened: the folder, the single file or the index. */
    readonly source: string,
    /** The files, in index order (one for a single-file checkpoint). */
    readonly files: readonly SafetensorsFile[],
    /** The index's "metadata" (e.g. total_size), or an empty object without an index. */
    readonly indexMetadata: Readonly<Record<string, unknown>>,
  ) {
    const byName = new Map<string, { entry: StEntry; file: SafetensorsFile }>();
    for (const file of files) for (const entry of file.entries) byName.set(entry.name, { entry, file });
    this.byName = byName;
    this.order = files.flatMap((f) => f.names());
  }

  /**
   * Opens a checkpoint folder (`model.safetensors` or `model.safetensors.index.json` inside it), an index
   * file, or any single `.safetensors` file.
   * @example
   * const ckpt = Checkpoint.open("models/imp-v1.5-3b");
   * const e = ckpt.info("model.embed_tokens.weight");
   * ckpt.read(e.name, new Uint8Array(memory.buffer, ptr, e.byteLength));
   * ckpt.close();
   */
  static open(folderOrFile: string, options: OpenOptions = {}): Checkpoint {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(folderOrFile);
    } catch (e) {
      throw new CheckpointError(`no checkpoint at ${folderOrFile}: ${(e as Error).message}`, { cause: e });
    }
    if (st.isDirectory()) {
      const index = join(folderOrFile, INDEX_FILE);
      const single = join(folderOrFile, SINGLE_FILE);
      const hasIndex = existsSync(index);
      const hasSingle = existsSync(single);
      if (hasIndex && hasSingle) {
        throw new CheckpointError(
          `${folderOrFile} holds both ${SINGLE_FILE} and ${INDEX_FILE}, so which weights to load is ambiguous; ` +
            `remove the stale one`,
        );
      }
      if (hasIndex) return Checkpoint.openIndex(index, options);
      if (hasSingle) return Checkpoint.openSingle(single, options);
      const found = readdirSync(folderOrFile).filter((f) => f.endsWith(".safetensors"));
      const hint = found.length > 0 ? ` (it has ${found.join(", ")}: pass one of them directly)` : "";
      throw new CheckpointError(`${folderOrFile} has neither ${SINGLE_FILE} nor ${INDEX_FILE}${hint}`);
    }
    if (folderOrFile.endsWith(".json")) return Checkpoint.openIndex(folderOrFile, options);
    return Checkpoint.openSingle(folderOrFile, options);
  }

  private static openSingle(path: string, options: OpenOptions): Checkpoint {
    return new Checkpoint(path, [SafetensorsFile.open(path, options)], {});
  }

  private static openIndex(indexPath: string, options: OpenOptions): Checkpoint {
    const { metadata, weightMap } = readIndex(indexPath);
    const folder = dirname(indexPath);

    // Shards in order of first mention, keyed by resolved path (so that "a" and "./a" are one file),
    // each with the first tensor mapped to it for error messages.
    const shards = new Map<string, { shard: string; tensor: string }>();
    for (const [tensor, shard] of weightMap) {
      const path = resolve(folder, shard);
      if (shards.has(path)) continue;
      const rel = relative(resolve(folder), path);
      if (isAbsolute(shard) || rel.split(sep)[0] === ".." || isAbsolute(rel)) {
        throw new CheckpointError(
          `${indexPath}: shard ${JSON.stringify(shard)} (of tensor ${JSON.stringify(tensor)}) is outside ${folder}`,
        );
      }
      shards.set(path, { shard, tensor });
    }

    const files: SafetensorsFile[] = [];
    try {
      for (const [path, { shard, tensor }] of shards) {
        if (!existsSync(path)) {
          throw new CheckpointError(
            `${indexPath}: shard ${shard} is missing (needed for tensor ${JSON.stringify(tensor)} and others ` +
              `mapped to it); download or copy it into ${folder}`,
          );
        }
        files.push(SafetensorsFile.open(path, options));
      }
      checkAgainstIndex(indexPath, files, weightMap);
    } catch (e) {
      for (const f of files) f.close();
      throw e;
    }
    return new Checkpoint(indexPath, files, metadata);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The tensor's entry (dtype, shape, file, offset, length); throws a CheckpointError when absent. */
  info(name: string): StEntry {
    const hit = this.byName.get(name);
    if (hit === undefined) {
      throw new CheckpointError(
        `${this.source}: no tensor ${JSON.stringify(name)} (it has ${this.order.length})`,
      );
    }
    return hit.entry;
  }

  /** All tensor names, file by file and in file order within each (the order that reads fastest). */
  names(): string[] {
    return this.order.slice();
  }

  /** Reads the tensor's bytes into `dest`, which must be exactly `info(name).byteLength` long. */
  read(name: string, dest: Uint8Array): void {
    this.info(name);
    this.byName.get(name)!.file.read(name, dest);
  }

  /** Reads the tensor into a new buffer (small tensors, tests). */
  readBytes(name: string): Uint8Array {
    const out = new Uint8Array(this.info(name).byteLength);
    this.read(name, out);
    return out;
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}

/** Opens the weights of a checkpoint folder or file; see `Checkpoint.open`. */
export function openWeights(folderOrFile: string, options: OpenOptions = {}): Checkpoint {
  return Checkpoint.open(folderOrFile, options);
}

function readIndex(indexPath: string): { metadata: Record<string, unknown>; weightMap: Map<string, string> } {
  let root: unknown;
  try {
    root = JSON.parse(readFileSync(indexPath, "utf8"));
  } catch (e) {
    throw new CheckpointError(`${indexPath}: cannot read the index: ${(e as Error).message}`, { cause: e });
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(root) || !isObject(root.weight_map)) {
    throw new CheckpointError(
      `${indexPath}: expected {"metadata": {...}, "weight_map": {tensor: shard file}}`,
    );
  }
  if (root.metadata !== undefined && root.metadata !== null && !isObject(root.metadata)) {
    throw new CheckpointError(`${indexPath}: "metadata" is ${JSON.stringify(root.metadata)}, not an object`);
  }
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(root.weight_map)) {
    if (typeof shard !== "string" || shard === "") {
      throw new CheckpointError(
        `${indexPath}: weight_map maps tensor ${JSON.stringify(tensor)} to ${JSON.stringify(shard)}, not a file name`,
      );
    }
    weightMap.set(tensor, shard);
  }
  return { metadata: isObject(root.metadata) ? root.metadata : {}, weightMap };
}

/** Every tensor of the index is in its shard, and every tensor of a shard is mapped to that shard. */
function checkAgainstIndex(
  indexPath: string,
  files: SafetensorsFile[],
  weightMap: Map<string, string>,
): void {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const folder = dirname(indexPath);
  for (const [tensor, shard] of weightMap) {
    const file = byPath.get(resolve(folder, shard))!;
    if (!file.has(tensor)) {
      const actual = files.find((f) => f.has(tensor));
      const where = actual === undefined ? "no shard has it" : `it is in ${actual.path}`;
      throw new CheckpointError(
        `${indexPath}: maps tensor ${JSON.stringify(tensor)} to ${shard}, but ${file.path} has no such tensor ` +
          `(${where}); the index and the shards come from different checkpoints`,
      );
    }
  }
  for (const file of files) {
    for (const name of file.names()) {
      const mapped = weightMap.get(name);
      if (mapped === undefined) {
        throw new CheckpointError(
          `${file.path}: tensor ${JSON.stringify(name)} is not in the index ${indexPath}; ` +
            `the index and the shards come from different checkpoints`,
        );
      }
      if (resolve(folder, mapped) !== file.path) {
        throw new CheckpointError(
          `${file.path}: tensor ${JSON.stringify(name)} is here, but the index ${indexPath} maps it to ${mapped}; ` +
            `the index and the shards come from different checkpoints`,
        );
      }
    }
  }
}
