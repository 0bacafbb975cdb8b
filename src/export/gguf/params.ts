/**
 * Where an export takes the model's parameters from, one tensor at a time, under our names (the Imp-v1.5 /
 * LLaVA training names of `MultimodalModel.namedParameters()`):
 *  - `modelSource`: a model already in memory (tests, or a model trained in this process);
 *  - `folderSource`: a checkpoint folder read tensor by tensor through the loader's layout tables
 *    (models/layout.ts), so a model larger than the 4 GiB backend heap (Phi-2 in f16: 5.6 GB) still exports.
 */
import type { Backend } from "../../backend/backend.js";
import type { DType } from "../../formats/dtype.js";
import { Checkpoint } from "../../io/safetensors/index.js";
import type { ModelConfig } from "../../models/config.js";
import { detectLayout, resolveSource } from "../../models/layout.js";
import { readModelConfig } from "../../models/load.js";
import { MultimodalModel } from "../../models/multimodal.js";
import type { Tensor } from "../../tensor/tensor.js";
import { empty } from "../../tensor/tensor.js";
import { CheckpointError } from "../../util/errors.js";

export interface ParamSource {
  readonly config: ModelConfig;
  /** Shape of each parameter, in the model's order. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** The CLIP folder of a LLaVA-1.5 checkpoint (for its preprocessor_config.json), if any. */
  readonly visionFolder: string | null;
  /** The parameter as stored or loaded (any dtype); the caller disposes it. */
  read(name: string): Tensor;
  close(): void;
}

function shapesOf(model: MultimodalModel): Map<string, readonly number[]> {
  return new Map(model.namedParameters().map(([n, p]) => [n, p.shape]));
}

/** Parameters of a loaded model (read returns a view; the model keeps its weights). */
export function modelSource(model: MultimodalModel, visionFolder: string | null = null): ParamSource {
  const params = new Map(model.namedParameters());
  return {
    config: model.config,
    shapes: shapesOf(model),
    visionFolder,
    read(name) {
      const p = params.get(name);
      if (!p) throw new CheckpointError(`the model has no parameter ${name}`);
      return p.value.reshape(p.shape);
    },
    close() {},
  };
}

const STORED: Record<string, DType> = { F32: "f32", F16: "f16", BF16: "bf16" };

/** Parameters read from a checkpoint folder on demand, into `backend`'s memory. */
export function folderSource(folder: string, backend: Backend, visionTower?: string): ParamSource {
  const { config, visionFolder } = readModelConfig(folder, visionTower);
  const main = Checkpoint.open(folder);
  let vision: Checkpoint | null = null;
  try {
    vision = visionFolder ? Checkpoint.open(visionFolder) : null;
  } catch (e) {
    main.close();
    throw e;
  }
  const names = new Set(main.names());
  const layout = detectLayout(names);
  const shapes = shapesOf(new MultimodalModel(config));
  // Fused tensors (Phi-3 qkv_proj, imp-v1 Wqkv) feed consecutive parameters: keep the last one read.
  let cached: { key: string; tensor: Tensor } | null = null;

  const readStored = (ckpt: Checkpoint, name: string, where: string): Tensor => {
    const entry = ckpt.info(name);
    const dtype = STORED[entry.dtype];
    if (!dtype)
      throw new CheckpointError(
        `${where}: tensor "${name}" is ${entry.dtype}; weights must be F32, F16 or BF16`,
      );
    const t = empty(backend, dtype, entry.shape);
    ckpt.read(name, new Uint8Array(backend.heap.buffer, t.ptr, entry.byteLength));
    return t;
  };

  return {
    config,
    shapes,
    visionFolder,
    read(name) {
      const shape = shapes.get(name);
      if (!shape) throw new CheckpointError(`${folder}: the model has no parameter ${name}`);
      const src = resolveSource(layout, name, config.llm, (n) => names.has(n), vision !== null);
      const ckpt = src.from === "vision" ? vision! : main;
      const where = src.from === "vision" ? visionFolder! : folder;
      if (!ckpt.has(src.name))
        throw new CheckpointError(
          `${where}: tensor "${name}"${src.name !== name ? ` (stored as "${src.name}")` : ""} is missing; ` +
            `expected shape [${shape}]`,
        );
      const key = `${src.from}:${src.name}`;
      let stored: Tensor;
      if (src.rows && cached?.key === key) stored = cached.tensor;
      else {
        stored = readStored(ckpt, src.name, where);
        if (src.rows) {
          cached?.tensor.dispose();
          cached = { key, tensor: stored };
        }
      }
      const bad = () =>
        new CheckpointError(
          `${where}: tensor "${src.name}" has shape [${stored.shape}]; "${name}" needs [${shape}]` +
            (src.rows ? ` (rows ${src.rows[0]}..${src.rows[0] + src.rows[1]})` : ""),
        );
      if (!src.rows) {
        if (stored.shape.length !== shape.length || stored.shape.some((s, i) => s !== shape[i])) {
          stored.dispose();
          throw bad();
        }
        return stored;
      }
      const [start, count] = src.rows;
      if (
        stored.shape.length !== shape.length ||
        count !== shape[0] ||
        stored.shape[0]! < start + count ||
        stored.shape.slice(1).some((s, i) => s !== shape[i + 1])
      )
        throw bad();
      return stored.slice(0, start, start + count);
    },
    close() {
      cached?.tensor.dispose();
      cached = null;
      main.close();
      vision?.close();
    },
  };
}
