/**
 * Random-weight checkpoints with the real names, shapes and file layout of a config (sharded safetensors +
 * config.json), written tensor by tensor so a 3B model never sits in memory. Seeded: the same seed writes the
 * same bytes. Speed and memory measurements need real shapes, not real weights.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { numel } from "../formats/dtype.js";
import { f32ToF16Bits } from "../formats/half.js";
import type { StDtype } from "../io/safetensors/index.js";
import { writeShardedSafetensors } from "../io/safetensors/index.js";
import type { Param } from "../nn/module.js";
import { writeJsonAtomic } from "../util/atomic-file.js";
import { parseModelConfig } from "./config.js";
import { MultimodalModel } from "./multimodal.js";

export interface RandomCheckpointOptions {
  seed?: number;
  dtype?: "f32" | "f16" | "bf16";
  /** Standard deviation of matrix entries (default 0.02, the usual initializer range). */
  std?: number;
  maxShardBytes?: number;
}

function hash(s: string, seed: number): number {
  let h = (2166136261 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0 || 1;
}

/** Values for one parameter: matrices uniform with the given std, norm weights ≈ 1, biases ≈ 0. */
function fill(name: string, p: Param, seed: number, std: number): Float32Array {
  const n = numel(p.shape);
  const out = new Float32Array(n);
  let x = hash(name, seed);
  const isNormWeight = p.role === "vector" && /norm|ln\b|layrnorm/.test(name) && name.endsWith("weight");
  const amp = p.role === "vector" ? (isNormWeight ? 0.1 : 0.02) : std * Math.sqrt(3);
  const base = isNormWeight ? 1 : 0;
  for (let i = 0; i < n; i++) {
    // xorshift32: fast enough for billions of values.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = base + amp * ((x >>> 0) / 2147483648 - 1);
  }
  return out;
}

function encode(values: Float32Array, dtype: "f32" | "f16" | "bf16"): Uint8Array {
  if (dtype === "f32") return new Uint8Array(values.buffer);
  const bits = new Uint32Array(values.buffer);
  const out = new Uint16Array(values.length);
  if (dtype === "bf16")
    for (let i = 0; i < bits.length; i++) out[i] = (bits[i]! + 0x7fff + ((bits[i]! >>> 16) & 1)) >>> 16;
  else for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]!);
  return new Uint8Array(out.buffer);
}

/** Writes config.json and random weights for `configJson` into `dir`; returns the total weight bytes. */
export function writeRandomCheckpoint(
  configJson: Record<string, unknown>,
  dir: string,
  opts: RandomCheckpointOptions = {},
): number {
  const config = parseModelConfig(configJson, "config.json");
  if (config.llm.family === "phi3")
    throw new Error("random Phi-3 checkpoints need the fused qkv/gate_up layout, which is not written yet");
  const seed = opts.seed ?? 0;
  const dtype = opts.dtype ?? "bf16";
  const st: StDtype = dtype === "f32" ? "F32" : dtype === "f16" ? "F16" : "BF16";
  mkdirSync(dir, { recursive: true });
  const params = new MultimodalModel(config).namedParameters();
  let total = 0;
  const entries = params.map(([name, p]) => {
    total += numel(p.shape) * (dtype === "f32" ? 4 : 2);
    return {
      name,
      dtype: st,
      shape: [...p.shape],
      data: () => encode(fill(name, p, seed, opts.std ?? 0.02), dtype),
    };
  });
  writeShardedSafetensors(dir, entries, { maxShardBytes: opts.maxShardBytes ?? 2 ** 30 });
  writeJsonAtomic(join(dir, "config.json"), { ...configJson, torch_dtype: dtypeName(dtype) });
  return total;
}

function dtypeName(d: "f32" | "f16" | "bf16"): string {
  return d === "f32" ? "float32" : d === "f16" ? "float16" : "bfloat16";
}
