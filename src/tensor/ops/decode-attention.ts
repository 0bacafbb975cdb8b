/**
 * Causal attention of a few new query rows over a KV cache (the decode step), one fused kernel: scores, online
 * softmax and the weighted V sum per query row and KV head, reading f16 or f32 cached K/V as stored.
 *   out_h = softmax(scale · q_h·K_gᵀ) · V_g,  g = h / (heads / kvHeads),  query i sees keys j ≤ S − T + i
 * q [T, heads·D] f32; k, v [S, kvHeads·D] (f16 or f32; rows of a KV cache). Inference only: it has no backward
 * (training runs `attention`, built from the GEMM and softmax kernels).
 */
import { ShapeError } from "../../util/errors.js";
import { activeTape } from "../autograd.js";
import type { Tensor } from "../tensor.js";
import { empty, formatOf } from "../tensor.js";
import { disposeCopies, headRows } from "./attention.js";
import { dense, expectDType, expectF32, expectSameBackend } from "./check.js";

/** Query rows up to which a cached attention takes the fused kernel rather than the GEMM path. */
export const DECODE_ROWS = 4;

export interface DecodeAttentionOptions {
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Defaults to 1/√headDim. */
  scale?: number;
}

export function decodeAttention(q: Tensor, k: Tensor, v: Tensor, o: DecodeAttentionOptions): Tensor {
  expectF32("decodeAttention", "q", q);
  expectDType("decodeAttention", "k", k, ["f32", "f16"]);
  expectDType("decodeAttention", "v", v, [k.dtype]);
  expectSameBackend("decodeAttention", q, k, v);
  const { heads, kvHeads, headDim: d } = o;
  const { t, s } = headRows("decodeAttention", q, k, v, o);
  if (s < t) throw new ShapeError(`decodeAttention: ${t} queries but only ${s} keys`);
  if (activeTape() !== null && (q.requiresGrad || k.requiresGrad || v.requiresGrad))
    throw new ShapeError("decodeAttention has no backward; train through attention()");
  const be = q.backend;
  const [qd, kd, vd] = [dense(q), dense(k), dense(v)];
  const out = empty(be, "f32", [...q.shape.slice(0, -1), heads * d]);
  be.decodeAttention(
    qd.ptr,
    kd.ptr,
    vd.ptr,
    formatOf(k.dtype),
    out.ptr,
    t,
    s,
    heads,
    kvHeads,
    d,
    o.scale ?? 1 / Math.sqrt(d),
  );
  disposeCopies([q, k, v], [qd, kd, vd]);
  return out;
}
