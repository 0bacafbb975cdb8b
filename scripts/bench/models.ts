/**
 * The models `npm run bench` measures, and the files it prepares for them in the cache folder (reused across
 * runs; never committed): random-weight bf16 checkpoints with the real shapes (seeded), q8/q4 copies written by
 * `imp quantize`, the GGUF exports for llama.cpp, and the vision variants:
 *  - `-v196`: the same model with the tower at image size 196 (14×14 positions, Imp-v1.5-3B-196) and a 1-layer
 *    LLM, for the 196-token vision column;
 *  - `-v384`: the 729-token tower with a 1-layer LLM, so llama-mtmd-cli's image run does not spend a minute
 *    prefilling the real LLM after the encode we time.
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { PRESETS } from "../../src/models/presets.js";
import { writeRandomCheckpoint } from "../../src/models/random.js";
import { fixture } from "../../src/testing/fixtures.js";
import { writeTinyTokenizer } from "../../src/testing/tiny-tokenizer.js";
import { writeTokenizerFiles } from "../../src/testing/tokenizer-reference.js";

export type Json = Record<string, unknown>;
export type Format = "f32" | "f16" | "q8" | "q4";
export const GGUF_QUANT: Record<Format, string> = { f32: "f32", f16: "f16", q8: "q8_0", q4: "q4_0" };

export interface BenchModel {
  key: string;
  label: string;
  source: "random" | "fixture" | "builtin";
  /** config.json to write (random), or the folder to copy (fixture) / use (builtin). */
  config?: Json;
  folder?: string;
  tokenizer: "phi2" | "qwen" | "tiny" | "own";
  /** Text tokens after the image in the prefill prompt, and tokens decoded. */
  textTokens: number;
  decodeTokens: number;
  /** Has a 196-token variant (real SigLIP-384 towers only). */
  variants: boolean;
}

const root = new URL("../..", import.meta.url).pathname;

function withLayers(preset: Json, llmLayers: number, visionLayers: number): Json {
  const v = preset.vision_tower_config as Json;
  return {
    ...preset,
    num_hidden_layers: llmLayers,
    vision_tower_config: { ...v, num_hidden_layers: visionLayers },
  };
}

/** All models the bench knows; `--models` picks among the keys. */
export function benchModels(quick: boolean): BenchModel[] {
  const decode = quick ? 32 : 128;
  const phi2 = PRESETS["imp-v1.5-3b-phi2"]!;
  const qwen = PRESETS["imp-v1.5-2b-qwen1.5"]!;
  const out: BenchModel[] = [
    {
      key: "fixture",
      label: "tiny-imp-qwen2 fixture (2 layers, width 64; 16 image tokens)",
      source: "fixture",
      folder: fixture("tiny-imp-qwen2"),
      tokenizer: "tiny",
      textTokens: 64,
      decodeTokens: decode,
      variants: false,
    },
    {
      key: "phi2-slim",
      label: "Imp-v1.5-3B-Phi2 widths, 4 of 32 LLM layers, 5 of 27 vision layers",
      source: "random",
      config: withLayers(phi2, 4, 5),
      tokenizer: "phi2",
      textTokens: 64,
      decodeTokens: decode,
      variants: true,
    },
    {
      key: "phi2",
      label: "Imp-v1.5-3B-Phi2 (SigLIP-SO400M-384 + Phi-2 2.7B)",
      source: "random",
      config: phi2,
      tokenizer: "phi2",
      textTokens: 64,
      decodeTokens: decode,
      variants: true,
    },
    {
      key: "qwen",
      label: "Imp-v1.5-2B-Qwen1.5 (SigLIP-SO400M-384 + Qwen1.5-1.8B)",
      source: "random",
      config: qwen,
      tokenizer: "qwen",
      textTokens: 64,
      decodeTokens: decode,
      variants: true,
    },
  ];
  const builtin = join(root, "models/imp-tiny");
  if (existsSync(join(builtin, "config.json")))
    out.push({
      key: "builtin",
      label: "built-in model (models/imp-tiny)",
      source: "builtin",
      folder: builtin,
      tokenizer: "own",
      textTokens: 64,
      decodeTokens: decode,
      variants: false,
    });
  return out;
}

export function builtinMissing(): boolean {
  return !existsSync(join(root, "models/imp-tiny/config.json"));
}

function writeTokenizer(kind: BenchModel["tokenizer"], dir: string, modelType: string): void {
  if (kind === "tiny") writeTinyTokenizer(dir, modelType);
  else if (kind !== "own") writeTokenizerFiles(kind, dir);
}

const DONE = ".bench-complete";
const done = (dir: string) => existsSync(join(dir, DONE));
const markDone = (dir: string) => writeFileSync(join(dir, DONE), `${new Date().toISOString()}\n`);

export function folderBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    const s = statSync(p);
    n += s.isDirectory() ? folderBytes(p) : s.size;
  }
  return n;
}

/** Runs the imp CLI in a child process (its wasm memory goes away with it). */
function imp(args: string[], log: (s: string) => void): string {
  log(`  imp ${args.join(" ")}`);
  return execFileSync(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
    stdio: ["ignore", "pipe", "inherit"],
  });
}

function writeRandom(m: BenchModel, config: Json, dir: string, log: (s: string) => void): void {
  if (done(dir)) return;
  rmSync(dir, { recursive: true, force: true });
  const t0 = performance.now();
  writeRandomCheckpoint(config, dir, { seed: 1, dtype: "bf16" });
  writeTokenizer(m.tokenizer, dir, String(config.model_type));
  markDone(dir);
  log(
    `  wrote ${dir} (${(folderBytes(dir) / 2 ** 30).toFixed(2)} GiB, ${((performance.now() - t0) / 1000).toFixed(0)} s)`,
  );
}

export interface PreparedModel {
  model: BenchModel;
  /** The checkpoint as written (bf16 for random models). */
  dir: string;
  /** Folder to load for each format (q8/q4: the `imp quantize` copy). */
  formatDir: Partial<Record<Format, string>>;
  /** GGUF of the LLM per format, and the F16 mmproj. */
  gguf: Partial<Record<Format, string>>;
  mmproj: string | null;
  /** 196-token variant (1-layer LLM) and its mmproj + LLM GGUF; the 1-layer LLM GGUF also serves the 729 run. */
  v196: string | null;
  v196Mmproj: string | null;
  v1LayerGguf: string | null;
}

/** Writes (or reuses) everything one model needs for the given formats. */
export function prepareModel(
  m: BenchModel,
  cache: string,
  formats: readonly Format[],
  opts: { gguf: boolean; mtmd: boolean },
  log: (s: string) => void,
): PreparedModel {
  const base = join(cache, "models", m.key);
  let dir: string;
  if (m.source === "random") {
    dir = join(base, "bf16");
    writeRandom(m, m.config!, dir, log);
  } else if (m.source === "fixture") {
    dir = join(base, "stored");
    if (!done(dir)) {
      rmSync(dir, { recursive: true, force: true });
      cpSync(m.folder!, dir, { recursive: true });
      rmSync(join(dir, "golden.safetensors"), { force: true });
      writeTokenizer("tiny", dir, "imp_qwen2");
      markDone(dir);
    }
  } else dir = m.folder!;

  const formatDir: PreparedModel["formatDir"] = {};
  for (const f of formats) {
    if (f === "f32" || f === "f16") formatDir[f] = dir;
    else {
      const q = join(base, f);
      if (!done(q)) {
        rmSync(q, { recursive: true, force: true });
        imp(["quantize", "--model", dir, "--bits", f === "q8" ? "8" : "4", "--out", q], log);
        markDone(q);
      }
      formatDir[f] = q;
    }
  }

  const gguf: PreparedModel["gguf"] = {};
  let mmproj: string | null = null;
  if (opts.gguf) {
    const gdir = join(base, "gguf");
    const mm = join(gdir, `mmproj-${m.key}-F16.gguf`);
    for (const f of formats) {
      const file = join(gdir, `${m.key}-${GGUF_QUANT[f].toUpperCase()}.gguf`);
      if (!existsSync(`${file}.done`)) {
        const withMm = m.variants && !existsSync(`${mm}.done`);
        imp(
          ["export", "gguf", "--model", dir, "--out", gdir, "--quant", GGUF_QUANT[f], "--name", m.key].concat(
            withMm ? [] : ["--no-mmproj"],
          ),
          log,
        );
        writeFileSync(`${file}.done`, "");
        if (withMm) writeFileSync(`${mm}.done`, "");
      }
      gguf[f] = file;
    }
    mmproj = existsSync(`${mm}.done`) ? mm : null;
  }

  let v196: string | null = null;
  let v196Mmproj: string | null = null;
  let v1LayerGguf: string | null = null;
  if (m.variants) {
    const vision = m.config!.vision_tower_config as Json;
    v196 = join(base, "v196");
    const cfg = { ...m.config!, num_hidden_layers: 1, vision_tower_config: { ...vision, image_size: 196 } };
    writeRandom(m, cfg, v196, log);
    if (opts.gguf && opts.mtmd) {
      const gdir = join(base, "v196-gguf");
      const stem = `${m.key}-v196`;
      if (!done(gdir)) {
        rmSync(gdir, { recursive: true, force: true });
        imp(["export", "gguf", "--model", v196, "--out", gdir, "--quant", "f16", "--name", stem], log);
        markDone(gdir);
      }
      v196Mmproj = join(gdir, `mmproj-${stem}-F16.gguf`);
      v1LayerGguf = join(gdir, `${stem}-F16.gguf`);
    }
  }
  return { model: m, dir, formatDir, gguf, mmproj, v196, v196Mmproj, v1LayerGguf };
}

/**
 * The LLM alone: a folder beside `dir` whose config has no vision tower and whose files are links to `dir`'s
 * (the loader reads only the tensors the model has). For formats where the tower does not fit beside the LLM.
 */
export function textOnly(dir: string): string {
  const out = `${dir}-text`;
  if (done(out)) return out;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(dir))
    if (f !== "config.json" && f !== DONE) symlinkSync(join(dir, f), join(out, f));
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Json;
  for (const k of ["vision_tower_config", "mm_vision_tower", "mm_projector_type", "mm_hidden_size"])
    delete cfg[k];
  writeFileSync(join(out, "config.json"), `${JSON.stringify(cfg, null, 2)}\n`);
  markDone(out);
  return out;
}
