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

/** A Phi-3 layer's parameters stored fused (rows in this order), by the fused tensor's name ending. */
const PHI3_FUSED: ReadonlyArray<{ fused: string; parts: readonly string[] }> = [
  {
    fused: "self_attn.qkv_proj.weight",
    parts: ["self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight"],
  },
  { fused: "mlp.gate_up_proj.weight", parts: ["mlp.gate_proj.weight", "mlp.up_proj.weight"] },
];

/**
 * The tensors to store: each parameter as itself, except Phi-3's q/k/v and gate/up projections, which the released
 * checkpoints store fused ([q; k; v] and [gate; up] rows, the layout the loader reads back as row ranges). A fused
 * tensor's rows hold exactly the values its parts would have on their own.
 */
function storedTensors(
  params: ReadonlyArray<[string, Param]>,
  fused: boolean,
): Array<{ name: string; shape: number[]; parts: Array<[string, Param]> }> {
  const byName = new Map(params);
  const out: Array<{ name: string; shape: number[]; parts: Array<[string, Param]> }> = [];
  for (const [name, p] of params) {
    const m = /^(model\.layers\.\d+)\.(.+)$/.exec(name);
    const group = fused && m ? PHI3_FUSED.find((g) => g.parts.includes(m[2]!)) : undefined;
    if (!group) {
      out.push({ name, shape: [...p.shape], parts: [[name, p]] });
      continue;
    }
    if (m![2] !== group.parts[0]) continue; // written with the group's first part
    const parts = group.parts.map((part): [string, Param] => {
      const n = `${m![1]}.${part}`;
      return [n, byName.get(n)!];
    });
    const rows = parts.reduce((r, [, q]) => r + q.shape[0]!, 0);
    out.push({ name: `${m![1]}.${group.fused}`, shape: [rows, p.shape[1]!], parts });
  }
  return out;
}

/** Writes config.json and random weights for `configJson` into `dir`; returns the total weight bytes. */
export function writeRandomCheckpoint(
  configJson: Record<string, unknown>,
  dir: string,
  opts: RandomCheckpointOptions = {},
): number {
  const config = parseModelConfig(configJson, "config.json");
  const seed = opts.seed ?? 0;
  const dtype = opts.dtype ?? "bf16";
  const st: StDtype = dtype === "f32" ? "F32" : dtype === "f16" ? "F16" : "BF16";
  mkdirSync(dir, { recursive: true });
  const params = new MultimodalModel(config).namedParameters();
  let total = 0;
  const entries = storedTensors(params, config.llm.family === "phi3").map(({ name, shape, parts }) => {
    total += numel(shape) * (dtype === "f32" ? 4 : 2);
    const values = () => {
      if (parts.length === 1) return fill(parts[0]![0], parts[0]![1], seed, opts.std ?? 0.02);
      const all = new Float32Array(numel(shape));
      let at = 0;
      for (const [n, p] of parts) {
        const v = fill(n, p, seed, opts.std ?? 0.02);
        all.set(v, at);
        at += v.length;
      }
      return all;
    };
    return { name, dtype: st, shape, data: () => encode(values(), dtype) };
  });
  writeShardedSafetensors(dir, entries, { maxShardBytes: opts.maxShardBytes ?? 2 ** 30 });
  writeJsonAtomic(join(dir, "config.json"), { ...configJson, torch_dtype: dtypeName(dtype) });
  return total;
}

function dtypeName(d: "f32" | "f16" | "bf16"): string {
  return d === "f32" ? "float32" : d === "f16" ? "float16" : "bfloat16";
}
