/**
 * Parity against the golden outputs of the official PyTorch code (shared/fixtures/README.md): load a fixture
 * model folder through the normal loader, run the vision tower, projector, splice, prefill and 20 greedy decode
 * steps through the public generation API, and compare every named output with its tolerance.
 */
import { join } from "node:path";
import type { Backend } from "../backend/backend.js";
import { Checkpoint } from "../io/safetensors/index.js";
import type { WeightDType } from "../models/load.js";
import { loadModel } from "../models/load.js";
import type { KVDType } from "../nn/kv-cache.js";
import { generateTokens } from "../runtime/generate.js";
import { tidy } from "../tensor/scope.js";
import { fromF32 } from "../tensor/tensor.js";
import { CheckpointError } from "../util/errors.js";
import type { ParityResult } from "./result.js";

/** Relative max error as the fixtures define it. */
export function relError(ours: ArrayLike<number>, golden: ArrayLike<number>): number {
  if (ours.length !== golden.length) return Number.POSITIVE_INFINITY;
  let maxErr = 0;
  let maxRef = 0;
  for (let i = 0; i < golden.length; i++) {
    const e = Math.abs(ours[i]! - golden[i]!);
    if (!(e <= maxErr)) maxErr = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
    maxRef = Math.max(maxRef, Math.abs(golden[i]!));
  }
  return maxErr / Math.max(maxRef, 1e-30);
}

/** Reads a golden tensor as numbers. */
export function readGolden(
  ckpt: Checkpoint,
  name: string,
): { shape: number[]; values: Float64Array | Float32Array } {
  if (!ckpt.has(name)) throw new CheckpointError(`${ckpt.source}: golden tensor "${name}" is missing`);
  const e = ckpt.info(name);
  const bytes = ckpt.readBytes(name);
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  switch (e.dtype) {
    case "F32":
      return { shape: [...e.shape], values: new Float32Array(buf) };
    case "I64":
      return { shape: [...e.shape], values: Float64Array.from(new BigInt64Array(buf), Number) };
    case "I32":
      return { shape: [...e.shape], values: Float64Array.from(new Int32Array(buf)) };
    case "U8":
      return { shape: [...e.shape], values: Float32Array.from(new Uint8Array(buf)) };
    default:
      throw new CheckpointError(`${ckpt.source}: golden tensor "${name}" has unexpected dtype ${e.dtype}`);
  }
}

export interface ModelParityOptions {
  backend: Backend;
  dtype?: WeightDType;
  /** KV cache element type (default: the loader's). */
  kvDtype?: KVDType;
  /** Tolerance for float outputs (default 1e-4, the fixtures' bound for f32 math). */
  tolerance?: number;
  /** Greedy tokens compared (default all 20). */
  greedySteps?: number;
}

export async function modelParity(folder: string, opts: ModelParityOptions): Promise<ParityResult[]> {
  const tol = opts.tolerance ?? 1e-4;
  const golden = Checkpoint.open(join(folder, "golden.safetensors"));
  const dtype = opts.dtype ?? "f32";
  const { model } = await loadModel(folder, {
    backend: opts.backend,
    dtype,
    visionDtype: dtype,
    kvDtype: opts.kvDtype,
  });
  const results: ParityResult[] = [];
  const check = (output: string, ours: ArrayLike<number>) => {
    const g = readGolden(golden, output);
    const error = relError(ours, g.values);
    results.push({ output, error, tolerance: tol, ok: error <= tol });
  };
  try {
    const ids = Array.from(readGolden(golden, "input_ids").values);
    const px = readGolden(golden, "pixel_values");
    const pixels = fromF32(opts.backend, px.values, px.shape.slice(1));
    tidy(() => {
      const { features, embeds } = model.encodeImage(pixels);
      check("vision_features", features.toF32());
      check("image_embeds", embeds.toF32());
      const inputs = model.embed(ids, [embeds]);
      check("inputs_embeds", inputs.toF32());
      const cache = model.newCache();
      try {
        check("logits", model.logits(model.forward(inputs, cache)).toF32());
      } finally {
        cache.dispose();
      }
    });
    const gTokens = Array.from(readGolden(golden, "greedy_tokens").values);
    const steps = Math.min(opts.greedySteps ?? gTokens.length, gTokens.length);
    const stepLogits: Float32Array[] = [];
    const { tokens } = generateTokens(model, ids, {
      images: [pixels],
      maxNewTokens: steps,
      onLogits: (_, l) => stepLogits.push(l.slice()),
    });
    const got: number[] = [];
    for await (const t of tokens) got.push(t);
    pixels.dispose();
    const wrong = got.reduce((n, t, i) => n + (t === gTokens[i] ? 0 : 1), 0) + Math.abs(steps - got.length);
    results.push({
      output: "greedy_tokens",
      error: wrong,
      tolerance: 0,
      ok: wrong === 0,
      detail: wrong
        ? `ours [${got.join(", ")}] vs golden [${gTokens.slice(0, steps).join(", ")}]`
        : undefined,
    });
    const gl = readGolden(golden, "greedy_logits");
    const vocab = gl.shape[2]!;
    const ours = new Float32Array(steps * vocab);
    for (let i = 0; i < steps; i++) ours.set(stepLogits[i]!, i * vocab);
    const error = relError(ours, gl.values.subarray(0, steps * vocab));
    results.push({ output: "greedy_logits", error, tolerance: tol, ok: error <= tol });
    return results;
  } finally {
    golden.close();
    model.dispose();
  }
}
