/**
 * Resumable run checkpoints. Every `save_every` steps and at the end, a run writes
 *   OUTPUT/checkpoints/step-000120/
 *     trainable.safetensors   the trainable parameters (f32, checkpoint names; LoRA A/B, connector, …)
 *     optimizer.safetensors   AdamW moments `<name>.exp_avg`, `<name>.exp_avg_sq` (f32)
 *     state.json              step, optimizer step count, RNG state (LoRA dropout), fingerprints of the recipe
 *                             and the data mixture, counters
 * The data position needs no state of its own: the batch of step s is a pure function of the seed, the resolved
 * mixture and s (see batches.ts). The folder is written under a temporary name and renamed, so a checkpoint either
 * exists whole or not at all; a run killed at any moment resumes from the newest one and, on the same backend and
 * thread count, ends with the same weights bit for bit. Older checkpoints beyond `keep_checkpoints` are removed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { Checkpoint, writeSafetensors } from "../io/safetensors/index.js";
import { viewF32 } from "../tensor/tensor.js";
import { tempFolderFor, writeFolderAtomic, writeJsonAtomic } from "../util/atomic-file.js";
import { CheckpointError } from "../util/errors.js";
import type { AdamW } from "./adamw.js";

export interface RunState {
  version: 1;
  /** Optimizer steps completed: the next step to run. */
  step: number;
  totalSteps: number;
  /** AdamW's t (steps that updated; empty batches do not count). */
  optimizerSteps: number;
  rng: { s: number[]; spare: number | null };
  /** What must not change between a run and its resumption. */
  fingerprint: Record<string, unknown>;
  /** Counters carried over, for the final report. */
  counters: { targets: number; positions: number; skipped: number; elapsedMs: number };
}

const STEP_DIR = /^step-(\d+)$/;

export function checkpointsDir(output: string): string {
  return join(output, "checkpoints");
}

/** The newest complete checkpoint folder of a run, or null. */
export function latestCheckpoint(output: string): string | null {
  const dir = checkpointsDir(output);
  if (!existsSync(dir)) return null;
  const steps = readdirSync(dir)
    .map((f) => STEP_DIR.exec(f))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(dir, m[0], "state.json")))
    .sort((a, b) => Number(b[1]) - Number(a[1]));
  return steps.length > 0 ? join(dir, steps[0]![0]) : null;
}

/** Writes a checkpoint of the optimizer's parameters and moments plus `state`, then prunes old ones. */
export function saveRunCheckpoint(output: string, optimizer: AdamW, state: RunState, keep: number): string {
  const dir = checkpointsDir(output);
  mkdirSync(dir, { recursive: true });
  const name = `step-${String(state.step).padStart(6, "0")}`;
  const final = join(dir, name);
  const params = optimizer.params();
  const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  writeFolderAtomic(final, (tmp) => {
    writeSafetensors(
      join(tmp, "trainable.safetensors"),
      params.map((p) => ({
        name: p.name,
        dtype: "F32" as const,
        shape: [...p.tensor.shape],
        data: () => bytes(viewF32(p.tensor).slice()),
      })),
    );
    writeSafetensors(
      join(tmp, "optimizer.safetensors"),
      params.flatMap((p) => {
        const s = optimizer.state.get(p.name)!;
        return [
          { name: `${p.name}.exp_avg`, dtype: "F32" as const, shape: [...p.tensor.shape], data: bytes(s.m) },
          {
            name: `${p.name}.exp_avg_sq`,
            dtype: "F32" as const,
            shape: [...p.tensor.shape],
            data: bytes(s.v),
          },
        ];
      }),
    );
    writeJsonAtomic(join(tmp, "state.json"), state);
  });
  // Keep the newest `keep` (never the one just written), and drop temporaries a killed run left behind.
  const all = readdirSync(dir)
    .map((f) => STEP_DIR.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]));
  for (const m of all.slice(Math.max(1, keep))) rmSync(join(dir, m[0]), { recursive: true, force: true });
  for (const f of readdirSync(dir))
    if (f.endsWith(".tmp") && f !== basename(tempFolderFor(final)))
      rmSync(join(dir, f), { recursive: true, force: true });
  return final;
}

/** A checkpoint's state.json. */
export function readRunState(dir: string): RunState {
  let state: RunState;
  try {
    state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as RunState;
  } catch (e) {
    throw new CheckpointError(`${dir}/state.json: ${(e as Error).message}`, { cause: e });
  }
  if (state.version !== 1) throw new CheckpointError(`${dir}/state.json: unknown version ${state.version}`);
  return state;
}

/** Restores parameters and moments from a checkpoint folder into the optimizer's tensors; returns its state. */
export function loadRunCheckpoint(dir: string, optimizer: AdamW): RunState {
  const state = readRunState(dir);
  const weights = Checkpoint.open(join(dir, "trainable.safetensors"));
  const moments = Checkpoint.open(join(dir, "optimizer.safetensors"));
  try {
    const other = "the checkpoint was made by a run with other trainable parameters";
    for (const p of optimizer.params()) {
      const read = (ck: Checkpoint, name: string, into: Float32Array) =>
        readF32Into(ck, name, into, p.tensor.shape, "the run's parameter", other);
      read(weights, p.name, viewF32(p.tensor));
      const s = optimizer.state.get(p.name)!;
      read(moments, `${p.name}.exp_avg`, s.m);
      read(moments, `${p.name}.exp_avg_sq`, s.v);
    }
  } finally {
    weights.close();
    moments.close();
  }
  optimizer.steps = state.optimizerSteps;
  return state;
}

/**
 * Reads tensor `name` of `ck` into `into`, which holds an F32 tensor of `shape` for `whose` ("this model's head");
 * a missing tensor names `ifMissing` (what that means for this file), another dtype or shape both what was found
 * and what is needed.
 */
export function readF32Into(
  ck: Checkpoint,
  name: string,
  into: Float32Array,
  shape: readonly number[],
  whose: string,
  ifMissing: string,
): void {
  if (!ck.has(name)) throw new CheckpointError(`${ck.source}: no tensor "${name}"; ${ifMissing}`);
  const e = ck.info(name);
  if (e.dtype !== "F32" || e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i]))
    throw new CheckpointError(
      `${ck.source}: "${name}" is ${e.dtype} [${e.shape}]; ${whose} needs F32 [${shape}]`,
    );
  ck.read(name, new Uint8Array(into.buffer, into.byteOffset, into.byteLength));
}
