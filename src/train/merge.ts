/**
 * `imp merge`: folds a training run's outputs into a full checkpoint in the base's own layout (Imp's
 * scripts/merge.sh / eval/model_merge.py, which is how the released checkpoints were made): each adapted linear
 * gets W + (α/r)·B·A, and a trained connector (mm_projector.safetensors beside the adapter) replaces the base's.
 * A stage-1 folder (connector only) merges too.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../backend/backend.js";
import { Checkpoint } from "../io/safetensors/index.js";
import { matmul } from "../tensor/ops/index.js";
import { tidy } from "../tensor/scope.js";
import { fromF32 } from "../tensor/tensor.js";
import { UsageError } from "../util/errors.js";
import { CONNECTOR_FILE } from "./connector-weights.js";
import type { ExportResult, ParamEdit } from "./export-checkpoint.js";
import { exportCheckpoint } from "./export-checkpoint.js";
import { ADAPTER_CONFIG, readAdapter, toF32 } from "./peft.js";

export interface MergeOptions {
  base: string;
  /** A folder with adapter_model.safetensors + adapter_config.json and/or mm_projector.safetensors. */
  adapter: string;
  out: string;
  backend: Backend;
}

export interface MergeResult extends ExportResult {
  loraModules: number;
  connector: boolean;
}

export function mergeAdapter(o: MergeOptions): MergeResult {
  const hasLora = existsSync(join(o.adapter, ADAPTER_CONFIG));
  const connectorPath = join(o.adapter, CONNECTOR_FILE);
  const hasConnector = existsSync(connectorPath);
  if (!hasLora && !hasConnector)
    throw new UsageError(
      `${o.adapter} holds neither ${ADAPTER_CONFIG} (a LoRA adapter) nor ${CONNECTOR_FILE}`,
    );
  const lora = hasLora ? readAdapter(o.adapter) : null;
  const connector = new Map<string, Float32Array>();
  if (hasConnector) {
    const ck = Checkpoint.open(connectorPath);
    try {
      for (const n of ck.names()) {
        const e = ck.info(n);
        if (e.dtype !== "F32" && e.dtype !== "F16" && e.dtype !== "BF16")
          throw new UsageError(`${connectorPath}: "${n}" is ${e.dtype}; expected a float tensor`);
        connector.set(n, toF32(ck.readBytes(n), e.dtype));
      }
    } finally {
      ck.close();
    }
  }
  const deltaFor = (path: string): Float32Array | null => {
    const w = lora?.weights.get(path);
    if (!w) return null;
    return tidy(() => {
      const a = fromF32(o.backend, w.a, w.aShape);
      const b = fromF32(o.backend, w.b, w.bShape);
      return matmul(b, a, { alpha: lora!.scaling }).toF32();
    });
  };
  const names = [...[...(lora?.weights.keys() ?? [])].map((p) => `${p}.weight`), ...connector.keys()];
  const result = exportCheckpoint(
    o.base,
    o.out,
    (name): ParamEdit | null => {
      const c = connector.get(name);
      if (c) return { replace: c };
      if (!name.endsWith(".weight")) return null;
      const d = deltaFor(name.slice(0, -".weight".length));
      return d ? { add: d } : null;
    },
    { names },
  );
  return { ...result, loraModules: lora?.weights.size ?? 0, connector: hasConnector };
}
