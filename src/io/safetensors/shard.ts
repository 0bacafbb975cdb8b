/**
 * Writing a sharded checkpoint as Hugging Face `save_pretrained` lays it out: `model-0000i-of-0000n.safetensors`
 * plus `model.safetensors.index.json` = {"metadata": {"total_size": data bytes}, "weight_map": {tensor: shard}}
 * (keys sorted, 2-space indent, trailing newline, as transformers writes it).
 *
 * Shards are filled greedily in the caller's order (huggingface_hub `split_state_dict_into_shards_factory`):
 * a tensor that would push the current shard past `maxShardBytes` starts a new one; a tensor bigger than the
 * limit gets a shard of its own. Only tensor bytes count toward the limit.
 *
 * Crash safety: every shard is written and fsynced under a temporary name first, so a failure while writing
 * (the slow part, and where bad data is found) leaves the folder untouched. Then the shards are renamed into
 * place and the index is written last. A crash during those renames can leave new shards beside an old index;
 * for a folder that must flip all at once, write into a fresh folder and rename the folder.
 */
import { mkdirSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { PendingFile, syncDir, writeFileAtomic } from "../../util/atomic-file.js";
import { CheckpointError, ImpError } from "../../util/errors.js";
import { checkEntry, checkMetadata, type FilePlan, fillFile, planFile, type StWriteEntry } from "./write.js";

export const INDEX_FILE = "model.safetensors.index.json";
export const SINGLE_FILE = "model.safetensors";
const SHARD_NAME = /^model-\d{5}-of-\d{5}\.safetensors$/;

export interface ShardOptions {
  /** Most tensor bytes per shard (a single larger tensor still gets a shard of its own). */
  readonly maxShardBytes: number;
  /** `__metadata__` of every shard (transformers writes {"format": "pt"}). */
  readonly metadata?: Record<string, string>;
  /** Largest single write, in bytes (tests use small values). */
  readonly chunkBytes?: number;
}

export interface ShardResult {
  /** Shard file names, in order. */
  readonly shards: readonly string[];
  readonly indexPath: string;
  /** Sum of all tensors' byte lengths (the index's total_size). */
  readonly totalSize: number;
}

interface ShardPlan {
  readonly shards: readonly string[];
  readonly files: readonly FilePlan[];
  /** The index file's text. */
  readonly index: string;
  readonly totalSize: number;
}

/** Splits the entries into shards in the caller's order and lays out each shard and the index. */
function planShards(
  folder: string,
  entries: Iterable<StWriteEntry>,
  maxShardBytes: number,
  metadata: Record<string, string> | undefined,
): ShardPlan {
  const indexPath = join(folder, INDEX_FILE);
  if (metadata !== undefined) checkMetadata(metadata, indexPath);
  const groups: StWriteEntry[][] = [];
  let current: StWriteEntry[] = [];
  let currentBytes = 0;
  let totalSize = 0;
  const seen = new Set<string>();
  for (const e of entries) {
    const n = checkEntry(e, indexPath);
    if (seen.has(e.name))
      throw new CheckpointError(`${indexPath}: tensor ${JSON.stringify(e.name)} is given twice`);
    seen.add(e.name);
    totalSize += n;
    if (n > maxShardBytes) {
      if (current.length > 0) groups.push(current);
      groups.push([e]);
      current = [];
      currentBytes = 0;
      continue;
    }
    if (currentBytes + n > maxShardBytes && current.length > 0) {
      groups.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(e);
    currentBytes += n;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);

  const shards = groups.map((_, i) => shardName(i, groups.length));
  const files = groups.map((g, i) => planFile(g, metadata, join(folder, shards[i]!)));
  const names = groups.flatMap((g, i) => g.map((e) => [e.name, shards[i]!] as const));
  names.sort((a, b) => byCodePoint(a[0], b[0]));
  // fromEntries, not assignment: a tensor named "__proto__" must stay a key.
  const weightMap = Object.fromEntries(names);
  const index = `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)}\n`;
  return { shards, files, index, totalSize };
}

export function shardName(i: number, n: number): string {
  return `model-${String(i + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.safetensors`;
}

/** Code-point order, as Python's `sort_keys` uses (JS's default compares UTF-16 units). */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * Writes `entries` into `folder` (created if missing) as shards plus an index. Afterwards the folder holds exactly this
 * checkpoint: a stale `model.safetensors` and stale `model-*-of-*.safetensors` shards not in the new index
 * are removed (they would otherwise contradict or shadow the index).
 * @example
 * writeShardedSafetensors("out", tensors, { maxShardBytes: 2 * 2 ** 30, metadata: { format: "pt" } });
 */
export function writeShardedSafetensors(
  folder: string,
  entries: Iterable<StWriteEntry>,
  options: ShardOptions,
): ShardResult {
  const { maxShardBytes, metadata, chunkBytes } = options;
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes < 1) {
    throw new RangeError(`maxShardBytes must be a positive integer, got ${maxShardBytes}`);
  }
  const indexPath = join(folder, INDEX_FILE);
  const pending: PendingFile[] = [];
  let plan: ShardPlan;
  try {
    // Everything is validated and laid out before the first file is created.
    plan = planShards(folder, entries, maxShardBytes, metadata);
    mkdirSync(folder, { recursive: true });
    for (let i = 0; i < plan.files.length; i++) {
      const file = PendingFile.create(join(folder, plan.shards[i]!), chunkBytes);
      pending.push(file);
      fillFile(file, plan.files[i]!);
      file.finish();
    }
    for (const file of pending) file.commit();
    writeFileAtomic(indexPath, (out) => out.write(new TextEncoder().encode(plan.index)));
  } catch (e) {
    for (const file of pending) file.abort();
    if (e instanceof ImpError) throw e;
    throw new CheckpointError(`writing the sharded checkpoint in ${folder} failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const { shards, totalSize } = plan;

  const keep = new Set(shards);
  for (const f of readdirSync(folder)) {
    if (f === SINGLE_FILE || (SHARD_NAME.test(f) && !keep.has(f))) unlinkSync(join(folder, f));
  }
  syncDir(folder);
  return { shards, indexPath, totalSize };
}
