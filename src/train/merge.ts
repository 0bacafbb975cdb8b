/**
 * `imp merge`: folds a training run's outputs into a full checkpoint in the base's own layout (Imp's
 * scripts/merge.sh / eval/model_merge.py, which is how the released checkpoints were made): each adapted linear
 * gets W + (α/r)·B·A, and a trained connector (mm_projector.safetensors beside the adapter) replaces the base's.
 * A stage-1 folder (connector only) merges too, and so does a run's mid-run checkpoint (`checkpoints/step-N/`:
 * trainable.safetensors holds the LoRA A/B, the connector or, for full fine-tuning, the LLM weights under their
 * model names; state.json's fingerprint gives r and α), to look at a run before it ends. A checkpoint's
 * image-token head (the trainer's dense signal) is left out: it is not part of the model.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../backend/backend.js";
import { Checkpoint } from "../io/safetensors/index.js";
import { matmul } from "../tensor/ops/index.js";
import { tidy } from "../tensor/scope.js";
import { fromF32 } from "../tensor/tensor.js";
import { CheckpointError, UsageError } from "../util/errors.js";
import { CONNECTOR_FILE } from "./connector-weights.js";
import type { ExportResult, ParamEdit } from "./export-checkpoint.js";
import { exportCheckpoint } from "./export-checkpoint.js";
import { IMAGE_TOKEN_HEAD_PREFIX } from "./image-token-head.js";
import type { LoadedAdapter, LoraHalf } from "./peft.js";
import { ADAPTER_CONFIG, pairLoraHalves, readAdapter, toF32 } from "./peft.js";
import type { LoraRecipe } from "./recipe.js";
import { readRunState } from "./run-state.js";
import { CONNECTOR_PREFIX } from "./trainable.js";

const TRAINABLE_FILE = "trainable.safetensors";

export interface MergeOptions {
  base: string;
  /**
   * A run's output folder (adapter_model.safetensors + adapter_config.json and/or mm_projector.safetensors), or one
   * of its checkpoints (checkpoints/step-N/ with trainable.safetensors + state.json).
   */
  adapter: string;
  out: string;
  backend: Backend;
}

export interface MergeResult extends ExportResult {
  loraModules: number;
  connector: boolean;
}

interface FloatTensor {
  values: Float32Array;
  shape: number[];
}

/** The float tensors of a safetensors file as f32, by name. */
function readFloats(path: string): Map<string, FloatTensor> {
  const out = new Map<string, FloatTensor>();
  const ck = Checkpoint.open(path);
  try {
    for (const n of ck.names()) {
      const e = ck.info(n);
      if (e.dtype !== "F32" && e.dtype !== "F16" && e.dtype !== "BF16")
        throw new UsageError(`${path}: "${n}" is ${e.dtype}; expected a float tensor`);
      out.set(n, { values: toF32(ck.readBytes(n), e.dtype), shape: [...e.shape] });
    }
  } finally {
    ck.close();
  }
  return out;
}

interface RunWeights {
  lora: LoadedAdapter | null;
  /** Whole tensors that replace the base's (the connector; the LLM of a full fine-tuning run). */
  replace: Map<string, Float32Array>;
}

/** A run's final outputs. */
function readRunOutputs(dir: string): RunWeights {
  const hasLora = existsSync(join(dir, ADAPTER_CONFIG));
  const connectorPath = join(dir, CONNECTOR_FILE);
  const hasConnector = existsSync(connectorPath);
  if (!hasLora && !hasConnector)
    throw new UsageError(
      `${dir} holds neither ${ADAPTER_CONFIG} (a LoRA adapter) nor ${CONNECTOR_FILE}, nor ${TRAINABLE_FILE} (a run's checkpoint)`,
    );
  return {
    lora: hasLora ? readAdapter(dir) : null,
    replace: new Map(
      hasConnector ? [...readFloats(connectorPath)].map(([n, t]) => [n, t.values] as const) : [],
    ),
  };
}

/** A mid-run checkpoint: LoRA A/B pairs by module path, everything else replaces the base's tensor. */
function readRunCheckpoint(dir: string): RunWeights {
  const state = readRunState(dir);
  const file = join(dir, TRAINABLE_FILE);
  const replace = new Map<string, Float32Array>();
  const halves: LoraHalf[] = [];
  for (const [name, t] of readFloats(file)) {
    // The dense image-token signal's head is training's own, never part of the model.
    if (name.startsWith(IMAGE_TOKEN_HEAD_PREFIX)) continue;
    const m = /^(.+)\.lora_(A|B)\.weight$/.exec(name);
    if (m) halves.push({ path: m[1]!, half: m[2] as "A" | "B", values: t.values, shape: t.shape });
    else replace.set(name, t.values);
  }
  if (halves.length === 0) return { lora: null, replace };
  const weights = pairLoraHalves(file, halves);
  const lora = state.fingerprint.lora as LoraRecipe | null | undefined;
  if (!lora || !(lora.rank > 0) || typeof lora.alpha !== "number")
    throw new CheckpointError(
      `${join(dir, "state.json")}: the checkpoint holds LoRA tensors but no lora rank and alpha`,
    );
  const config = { r: lora.rank, lora_alpha: lora.alpha } as LoadedAdapter["config"];
  return { lora: { config, scaling: lora.alpha / lora.rank, weights }, replace };
}

export function mergeAdapter(o: MergeOptions): MergeResult {
  const fromCheckpoint = existsSync(join(o.adapter, TRAINABLE_FILE));
  const { lora, replace } = fromCheckpoint ? readRunCheckpoint(o.adapter) : readRunOutputs(o.adapter);
  const hasConnector = [...replace.keys()].some((n) => n.startsWith(CONNECTOR_PREFIX));
  const deltaFor = (path: string): Float32Array | null => {
    const w = lora?.weights.get(path);
    if (!w) return null;
    return tidy(() => {
      const a = fromF32(o.backend, w.a, w.aShape);
      const b = fromF32(o.backend, w.b, w.bShape);
      return matmul(b, a, { alpha: lora!.scaling }).toF32();
    });
  };
  const names = [...[...(lora?.weights.keys() ?? [])].map((p) => `${p}.weight`), ...replace.keys()];
  const result = exportCheckpoint(
    o.base,
    o.out,
    (name): ParamEdit | null => {
      const c = replace.get(name);
      if (c) return { replace: c };
      if (!name.endsWith(".weight")) return null;
      const d = deltaFor(name.slice(0, -".weight".length));
      return d ? { add: d } : null;
    },
    { names },
  );
  return { ...result, loraModules: lora?.weights.size ?? 0, connector: hasConnector };
}
