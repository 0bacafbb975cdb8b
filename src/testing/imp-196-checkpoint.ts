/**
 * TEST-ONLY: tiny checkpoints laid out as the released MILVLG/Imp-v1.5-3B-196 is (shared/reference/imp-spec.md §1,
 * §2, §5.1), built from the tiny-imp-v1-phi2 fixture's weights:
 *
 *  - config.json in the old phi-msft keys (n_embd, n_head, n_layer, rotary_dim, …) with `mm_vision_tower` naming
 *    the tower folder below;
 *  - the weights under the phi-msft names (`transformer.h.{i}.mixer.Wqkv`, `lm_head.linear`, the tower under
 *    `transformer.vision_tower.vision_tower.vision_model.`), in 7 shards with `model.safetensors.index.json`;
 *  - the tower's own package folder, as the release ships `siglip-so400m-patch14-196/`: a SigLIP config.json at its
 *    own image_size and a preprocessor_config.json at that size. Its position table (tokens = (image_size / patch)²
 *    rows) is in the main shards, as the release's 196-row table is (the MLC loader reads it from there).
 *
 * The release's own config.json text was not readable (imp-spec.md §0), so whether it also embeds a
 * `vision_tower_config`, and at which size, is not known; `embedded` covers the cases. The official code builds the
 * tower from the folder (SiglipVisionConfig.from_pretrained(mm_vision_tower) in MILVLG/imp's CLIPVisionTower) and
 * never reads the embedded block, so the folder wins: "stale" (the default) embeds the fixture's own 56-px tower,
 * which contradicts the stored table, to hold the loader to that.
 *
 * `writePlainTwin` writes the same tensors in the plain Imp-v1.5 layout (HF Phi names and keys, q/k/v split from
 * Wqkv by this file's own rename table, one model.safetensors, the tower in `vision_tower_config`): loaded, the two
 * must answer token for token and logit for logit alike.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { f16ToF32Array, f32ToF16Array } from "../formats/half.js";
import type { StWriteEntry } from "../io/safetensors/index.js";
import { Checkpoint, writeSafetensors, writeShardedSafetensors } from "../io/safetensors/index.js";
import { resizePositionGrid } from "../models/vision/position-grid.js";
import { fixture } from "./fixtures.js";
import { writeTinyTokenizer } from "./tiny-tokenizer.js";

const SOURCE = "tiny-imp-v1-phi2";
const V1_TOWER = "transformer.vision_tower.vision_tower.vision_model.";
const V15_TOWER = "model.vision_tower.vision_tower.vision_model.";
const POSITIONS = "embeddings.position_embedding.weight";

export interface Imp196Options {
  /** The tower's image side: the fixture's own is 56 (4 × 4 = 16 tokens); the default 42 gives 3 × 3 = 9. */
  side?: number;
  /** config.json's mm_vision_tower (default: the folder's name, as a path relative to the checkpoint). */
  towerName?: string;
  /**
   * What config.json embeds as `vision_tower_config`: "stale" (the fixture's own 56-px tower, contradicting the
   * stored table), "same" (the folder's), or "none".
   */
  embedded?: "stale" | "same" | "none";
  /**
   * The tower's name prefix in the shards: "double" (`transformer.vision_tower.vision_tower.vision_model.`, as the
   * MLC loader reads the release) or "single" (`transformer.vision_tower.vision_model.`, as imp-spec.md §5.1 has it).
   */
  towerPrefix?: "double" | "single";
  /** Weight shards (default 7, as the release). */
  shards?: number;
  /** Keys laid over config.json (and over the twin's), e.g. a longer context for the byte-level tokenizer. */
  config?: Record<string, unknown>;
  /** Writes the tiny byte-level tokenizer beside the weights (fixtures ship none). */
  tokenizer?: boolean;
}

export interface WrittenImp196 {
  folder: string;
  /** The tower package folder inside it. */
  towerFolder: string;
  /** Its name (`siglip-tiny-patch14-42`). */
  towerDir: string;
  /** Visual tokens per image at the tower's own size. */
  imageTokens: number;
}

type Json = Record<string, unknown>;

function readJson(file: string): Json {
  return JSON.parse(readFileSync(file, "utf8")) as Json;
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

interface Tensor {
  name: string;
  dtype: StWriteEntry["dtype"];
  shape: number[];
  data: Uint8Array;
}

/** The fixture's tensors, the tower's position table resized to `side` (stored f16, as the fixture's). */
function sourceTensors(side: number): { tensors: Tensor[]; config: Json; tower: Json } {
  const config = readJson(fixture(SOURCE, "config.json"));
  const tower = config.vision_tower_config as Json;
  const patch = tower.patch_size as number;
  if (side % patch !== 0) throw new Error(`side ${side} is not a multiple of the patch ${patch}`);
  const ck = Checkpoint.open(fixture(SOURCE, "model.safetensors"));
  try {
    const tensors = ck.names().map((name) => {
      const e = ck.info(name);
      return { name, dtype: e.dtype, shape: [...e.shape], data: ck.readBytes(name) };
    });
    const pos = tensors.find((t) => t.name === V1_TOWER + POSITIONS)!;
    if (pos.dtype !== "F16") throw new Error(`${SOURCE}: the position table is ${pos.dtype}, expected F16`);
    const dim = pos.shape[1]!;
    const table = new Float32Array(pos.shape[0]! * dim);
    f16ToF32Array(
      new Uint16Array(pos.data.buffer.slice(pos.data.byteOffset, pos.data.byteOffset + pos.data.byteLength)),
      table,
    );
    const grid = side / patch;
    const resized = resizePositionGrid(table, dim, grid);
    const half = new Uint16Array(resized.length);
    f32ToF16Array(resized, half);
    pos.shape = [grid * grid, dim];
    pos.data = new Uint8Array(half.buffer);
    return { tensors, config, tower };
  } finally {
    ck.close();
  }
}

/**
 * A shard size at which writeShardedSafetensors' greedy split (consecutive tensors, a new shard when the next one
 * would pass the size) gives exactly `wanted` shards.
 */
function shardBytesFor(sizes: readonly number[], wanted: number): number {
  const count = (max: number) => {
    let shards = 0;
    let current = -1;
    for (const n of sizes) {
      if (current < 0 || current + n > max) {
        shards++;
        current = 0;
      }
      current += n;
    }
    return shards;
  };
  const total = sizes.reduce((a, b) => a + b, 0);
  for (let max = Math.max(...sizes); max <= total; max += 2) if (count(max) === wanted) return max;
  throw new Error(`no shard size splits these ${sizes.length} tensors into ${wanted} shards`);
}

function towerFolderName(side: number): string {
  return `siglip-tiny-patch14-${side}`;
}

/** A SigLIP vision config as `SiglipVisionConfig.save_pretrained` writes one, at `side`. */
function towerConfig(tower: Json, side: number): Json {
  return {
    architectures: ["SiglipVisionModel"],
    attention_dropout: 0.0,
    hidden_act: tower.hidden_act,
    hidden_size: tower.hidden_size,
    image_size: side,
    intermediate_size: tower.intermediate_size,
    layer_norm_eps: tower.layer_norm_eps,
    model_type: "siglip_vision_model",
    num_attention_heads: tower.num_attention_heads,
    num_channels: 3,
    num_hidden_layers: tower.num_hidden_layers,
    patch_size: tower.patch_size,
    torch_dtype: "float32",
  };
}

/** SigLIP's image processor config (google/siglip-so400m-patch14-384's keys) at `side`. */
function preprocessorConfig(side: number): Json {
  return {
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_processor_type: "SiglipImageProcessor",
    image_std: [0.5, 0.5, 0.5],
    processor_class: "SiglipProcessor",
    resample: 3,
    rescale_factor: 1 / 255,
    size: { height: side, width: side },
  };
}

function finish(dir: string, opts: Imp196Options): void {
  if (opts.tokenizer) writeTinyTokenizer(dir, "imp");
}

/** Writes the Imp-v1.5-3B-196 layout into `dir` (created). */
export function writeImp196Checkpoint(dir: string, opts: Imp196Options = {}): WrittenImp196 {
  const side = opts.side ?? 42;
  const { tensors, config, tower } = sourceTensors(side);
  const towerDir = towerFolderName(side);
  mkdirSync(join(dir, towerDir), { recursive: true });
  if (opts.towerPrefix === "single")
    for (const t of tensors)
      if (t.name.startsWith(V1_TOWER))
        t.name = `transformer.vision_tower.vision_model.${t.name.slice(V1_TOWER.length)}`;
  writeShardedSafetensors(dir, tensors, {
    maxShardBytes: shardBytesFor(
      tensors.map((t) => t.data.byteLength),
      opts.shards ?? 7,
    ),
    metadata: { format: "pt" },
  });
  const embedded = opts.embedded ?? "stale";
  const main: Json = { ...config, mm_vision_tower: opts.towerName ?? towerDir, ...opts.config };
  if (embedded === "none") delete main.vision_tower_config;
  else if (embedded === "same") main.vision_tower_config = { ...tower, image_size: side };
  writeJson(join(dir, "config.json"), main);
  writeJson(join(dir, towerDir, "config.json"), towerConfig(tower, side));
  writeJson(join(dir, towerDir, "preprocessor_config.json"), preprocessorConfig(side));
  finish(dir, opts);
  const grid = side / (tower.patch_size as number);
  return { folder: dir, towerFolder: join(dir, towerDir), towerDir, imageTokens: grid * grid };
}

/** An imp-v1 (phi-msft) tensor name as the Imp-v1.5 layout names it; Wqkv splits in three (null). */
function v15Name(name: string): string | null {
  let m: RegExpExecArray | null;
  if (name.startsWith(V1_TOWER)) return V15_TOWER + name.slice(V1_TOWER.length);
  if (name === "transformer.embd.wte.weight") return "model.embed_tokens.weight";
  if ((m = /^transformer\.mm_projector\.(.+)$/.exec(name))) return `model.mm_projector.${m[1]}`;
  if ((m = /^lm_head\.ln\.(.+)$/.exec(name))) return `model.final_layernorm.${m[1]}`;
  if ((m = /^lm_head\.linear\.(.+)$/.exec(name))) return `lm_head.${m[1]}`;
  if ((m = /^transformer\.h\.(\d+)\.ln\.(.+)$/.exec(name)))
    return `model.layers.${m[1]}.input_layernorm.${m[2]}`;
  if ((m = /^transformer\.h\.(\d+)\.mixer\.out_proj\.(.+)$/.exec(name)))
    return `model.layers.${m[1]}.self_attn.dense.${m[2]}`;
  if ((m = /^transformer\.h\.(\d+)\.mlp\.(fc1|fc2)\.(.+)$/.exec(name)))
    return `model.layers.${m[1]}.mlp.${m[2]}.${m[3]}`;
  if (/^transformer\.h\.\d+\.mixer\.Wqkv\./.test(name)) return null;
  throw new Error(`no Imp-v1.5 name for ${name}`);
}

/**
 * The same weights as `writeImp196Checkpoint(…, opts)` writes, in the plain Imp-v1.5 layout: HF Phi config keys,
 * `model.*` names with q/k/v apart, one model.safetensors, the tower described by `vision_tower_config` only.
 */
export function writePlainTwin(dir: string, opts: Imp196Options = {}): string {
  const side = opts.side ?? 42;
  const { tensors, config, tower } = sourceTensors(side);
  const hidden = config.n_embd as number;
  const heads = config.n_head as number;
  const out: Tensor[] = [];
  for (const t of tensors) {
    const to = v15Name(t.name);
    if (to !== null) {
      out.push({ ...t, name: to });
      continue;
    }
    // Wqkv rows: all q heads, then k, then v (MHA: hidden rows each).
    const m = /^transformer\.h\.(\d+)\.mixer\.Wqkv\.(weight|bias)$/.exec(t.name)!;
    const rowBytes = t.data.byteLength / t.shape[0]!;
    ["q", "k", "v"].forEach((part, i) => {
      out.push({
        name: `model.layers.${m[1]}.self_attn.${part}_proj.${m[2]}`,
        dtype: t.dtype,
        shape: [hidden, ...t.shape.slice(1)],
        data: t.data.slice(i * hidden * rowBytes, (i + 1) * hidden * rowBytes),
      });
    });
  }
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, "model.safetensors"), out, { format: "pt" });
  const headDim = hidden / heads;
  const plain: Json = {
    architectures: ["ImpForCausalLM"],
    model_type: "imp",
    hidden_size: hidden,
    num_attention_heads: heads,
    num_key_value_heads: heads,
    num_hidden_layers: config.n_layer,
    intermediate_size: config.n_inner,
    partial_rotary_factor: (config.rotary_dim as number) / headDim,
    layer_norm_eps: config.layer_norm_epsilon,
    hidden_act: config.activation_function,
    rope_theta: 10000,
    max_position_embeddings: config.n_positions,
    vocab_size: config.vocab_size,
    tie_word_embeddings: false,
    torch_dtype: config.torch_dtype,
    image_aspect_ratio: config.image_aspect_ratio,
    image_token: config.image_token,
    image_token_index: config.image_token_index,
    mm_hidden_size: config.mm_hidden_size,
    mm_projector_type: config.mm_projector_type,
    mm_vision_select_feature: config.mm_vision_select_feature,
    mm_vision_select_layer: config.mm_vision_select_layer,
    mm_vision_tower: "google/siglip-so400m-patch14-384",
    tokenizer_model_max_length: config.tokenizer_model_max_length,
    vision_tower_config: { ...tower, image_size: side },
  };
  // The twin speaks HF Phi keys: a phi-msft key in `config` is given in its HF name.
  const rename: Record<string, string> = { n_positions: "max_position_embeddings" };
  for (const [k, v] of Object.entries(opts.config ?? {})) plain[rename[k] ?? k] = v;
  writeJson(join(dir, "config.json"), plain);
  finish(dir, opts);
  return dir;
}
