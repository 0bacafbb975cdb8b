/**
 * The connector's weights on their own: what stage 1 produces and stage 2 starts from (Imp's `mm_projector.bin`,
 * passed to finetune_lora.sh as --pretrain_mm_mlp_adapter). Stored as `mm_projector.safetensors` with the
 * checkpoint names (`model.mm_projector.0.weight`, …) in f32. `connector_init` in a recipe says where a run's
 * connector starts: "base" (as loaded), "random" (PyTorch's nn.Linear initialisation, as a fresh stage 1), or such
 * a file (or the folder of a stage-1 run holding one).
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { Checkpoint, writeSafetensors } from "../io/safetensors/index.js";
import type { MultimodalModel } from "../models/multimodal.js";
import type { Param } from "../nn/module.js";
import { cast } from "../tensor/ops/index.js";
import { keep } from "../tensor/scope.js";
import { empty, fromF32 } from "../tensor/tensor.js";
import { CheckpointError, UsageError } from "../util/errors.js";
import type { Rng } from "../util/random.js";
import { CONNECTOR_PREFIX } from "./trainable.js";

export const CONNECTOR_FILE = "mm_projector.safetensors";

function connectorParams(model: MultimodalModel): Array<[string, Param]> {
  return model.namedParameters().filter(([n]) => n.startsWith(CONNECTOR_PREFIX));
}

/** Writes the connector's parameters (f32) to `file`, atomically. */
export function saveConnector(model: MultimodalModel, file: string): void {
  writeSafetensors(
    file,
    connectorParams(model).map(([name, p]) => ({
      name,
      dtype: "F32" as const,
      shape: [...p.shape],
      data: () => new Uint8Array(p.value.toF32().buffer),
    })),
    { format: "pt" },
  );
}

/** The connector file a path names: the file itself, or CONNECTOR_FILE inside a folder. */
export function connectorFile(path: string): string {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, CONNECTOR_FILE) : path;
  if (!existsSync(file))
    throw new UsageError(
      `connector_init: ${file} does not exist (give "base", "random", a ${CONNECTOR_FILE} file, or the folder of a stage-1 run)`,
    );
  return file;
}

/** Loads connector weights from a file into the model (shapes checked; stored as the loader left them). */
export function loadConnector(model: MultimodalModel, path: string): void {
  const file = connectorFile(path);
  const ckpt = Checkpoint.open(file);
  try {
    for (const [name, p] of connectorParams(model)) {
      if (!ckpt.has(name))
        throw new CheckpointError(`${file}: tensor "${name}" is missing; expected shape [${p.shape}]`);
      const e = ckpt.info(name);
      if (e.shape.length !== p.shape.length || e.shape.some((s, i) => s !== p.shape[i]))
        throw new CheckpointError(`${file}: "${name}" has shape [${e.shape}], the model needs [${p.shape}]`);
      const dtype =
        e.dtype === "F32" ? "f32" : e.dtype === "F16" ? "f16" : e.dtype === "BF16" ? "bf16" : null;
      if (!dtype) throw new CheckpointError(`${file}: "${name}" is ${e.dtype}; expected F32, F16 or BF16`);
      const t = empty(model.backend, dtype, e.shape);
      ckpt.read(name, new Uint8Array(model.backend.heap.buffer, t.ptr, e.byteLength));
      p.value = keep(dtype === "f32" ? t : cast(t, "f32"));
      if (dtype !== "f32") t.dispose();
    }
  } finally {
    ckpt.close();
  }
}

/** PyTorch nn.Linear's initialisation: weight and bias uniform in ±1/√fan_in (kaiming_uniform with a = √5). */
export function randomConnector(model: MultimodalModel, rng: Rng): void {
  for (const [, p] of connectorParams(model)) {
    const fanIn = p.role === "vector" ? fanInOf(model, p) : p.shape[1]!;
    const bound = 1 / Math.sqrt(fanIn);
    const n = p.shape.reduce((a, b) => a * b, 1);
    const v = Float32Array.from({ length: n }, () => rng.uniform(-bound, bound));
    p.value = keep(fromF32(model.backend, v, p.shape));
  }
}

/** A bias's fan-in: the input size of the Linear it belongs to. */
function fanInOf(model: MultimodalModel, bias: Param): number {
  const c = model.projector!;
  for (const l of [c.fc1, c.fc2]) if (l && l.bias === bias) return l.inFeatures;
  throw new Error("connector bias without its Linear");
}

/** Applies a recipe's connector_init. */
export function initConnector(model: MultimodalModel, how: string, rng: Rng): void {
  if (how === "base") return;
  if (how === "random") randomConnector(model, rng);
  else loadConnector(model, how);
}
