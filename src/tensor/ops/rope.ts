/**
 * Rotary position embeddings. The cos/sin tables are computed here in float32 step by step exactly as the
 * reference PyTorch code does (inv_freq = 1 / θ^(2j/d) in f32, angle = f32(pos · inv_freq), then cos/sin),
 * so both backends rotate by identical angles.
 */
import type { Backend } from "../../backend/backend.js";
import { ShapeError } from "../../util/errors.js";
import { record } from "../autograd.js";
import type { Tensor } from "../tensor.js";
import { empty, fromF32 } from "../tensor.js";
import { dense, expectF32 } from "./check.js";

const fr = Math.fround;

export interface RopeTable {
  cos: Tensor;
  sin: Tensor;
  rotDim: number;
  /** Number of positions in the table. */
  length: number;
  dispose(): void;
}

/** cos/sin [positions.length, rotDim/2] for the given absolute positions. */
export function ropeTable(
  backend: Backend,
  positions: readonly number[],
  rotDim: number,
  theta: number,
): RopeTable {
  if (rotDim % 2 !== 0 || rotDim <= 0)
    throw new ShapeError(`rope: rotary dimension must be even, got ${rotDim}`);
  const half = rotDim / 2;
  const inv = new Float64Array(half);
  for (let j = 0; j < half; j++) inv[j] = fr(1 / fr(fr(theta) ** fr(fr(2 * j) / rotDim)));
  const cos = new Float32Array(positions.length * half);
  const sin = new Float32Array(positions.length * half);
  for (let p = 0; p < positions.length; p++)
    for (let j = 0; j < half; j++) {
      const a = fr(fr(positions[p]!) * inv[j]!);
      cos[p * half + j] = Math.cos(a);
      sin[p * half + j] = Math.sin(a);
    }
  const c = fromF32(backend, cos, [positions.length, half]);
  const s = fromF32(backend, sin, [positions.length, half]);
  return {
    cos: c,
    sin: s,
    rotDim,
    length: positions.length,
    dispose() {
      c.dispose();
      s.dispose();
    },
  };
}

/** Rotates the first rotDim channels of each head of x [T, heads·headDim] (rotate-half form). */
export function rope(x: Tensor, table: RopeTable, heads: number, headDim: number, inverse = false): Tensor {
  expectF32("rope", "x", x);
  const t = x.numel / (heads * headDim);
  if (x.dim(-1) !== heads * headDim || t !== table.length)
    throw new ShapeError(
      `rope: x [${x.shape}] does not fit ${table.length} positions × ${heads} heads × ${headDim}`,
    );
  const xd = dense(x);
  const out = empty(x.backend, "f32", x.shape);
  x.backend.rope(xd.ptr, out.ptr, table.cos.ptr, table.sin.ptr, t, heads, headDim, table.rotDim, inverse);
  if (xd !== x) xd.dispose();
  // A rotation's gradient is the inverse rotation.
  record(out, [x], [table.cos, table.sin], (g, tape) =>
    tape.accumulate(x, rope(g, table, heads, headDim, !inverse)),
  );
  return out;
}
