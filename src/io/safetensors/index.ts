/**
 * safetensors read/write: validated headers, positioned reads straight into caller memory, sharded
 * checkpoints through `model.safetensors.index.json`, and atomic streamed writes.
 */
export { Checkpoint, openWeights } from "./checkpoint.js";
export { dtypeSize, isStDtype, numel, ST_DTYPES, type StDtype, tensorByteLength } from "./dtype.js";
export { DEFAULT_CHUNK_BYTES, type OpenOptions, SafetensorsFile } from "./file.js";
export { MAX_HEADER_BYTES, parseHeader, type StEntry, type StHeader } from "./header.js";
export {
  INDEX_FILE,
  type ShardOptions,
  type ShardResult,
  SINGLE_FILE,
  shardName,
  writeShardedSafetensors,
} from "./shard.js";
export { type StWriteEntry, type WriteOptions, writeSafetensors } from "./write.js";
