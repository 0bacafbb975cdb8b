/** Attention of a few new query rows over a KV cache (reference): plain two-pass softmax per row and head. */
import type { FloatArray, WeightData } from "./arrays.js";
import { decodeWeights } from "./arrays.js";

export function decodeAttention(
  q: FloatArray,
  k: WeightData,
  v: WeightData,
  out: FloatArray,
  t: number,
  s: number,
  heads: number,
  kvHeads: number,
  headDim: number,
  scale: number,
): void {
  const d = headDim;
  const kvDim = kvHeads * d;
  const group = heads / kvHeads;
  const kf = new Float32Array(s * kvDim);
  const vf = new Float32Array(s * kvDim);
  decodeWeights(k, 0, s * kvDim, kf);
  decodeWeights(v, 0, s * kvDim, vf);
  const p = new Float64Array(s);
  for (let i = 0; i < t; i++) {
    const visible = s - t + i + 1;
    for (let h = 0; h < heads; h++) {
      const qo = (i * heads + h) * d;
      const ko = Math.floor(h / group) * d;
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < visible; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q[qo + c]! * kf[j * kvDim + ko + c]!;
        p[j] = Math.fround(dot) * scale;
        max = Math.max(max, p[j]!);
      }
      let sum = 0;
      for (let j = 0; j < visible; j++) sum += p[j] = Math.exp(p[j]! - max);
      for (let c = 0; c < d; c++) {
        let acc = 0;
        for (let j = 0; j < visible; j++) acc += p[j]! * vf[j * kvDim + ko + c]!;
        out[qo + c] = acc / sum;
      }
    }
  }
}
