/** Embedding gather/scatter and image patch extraction (reference). */
import type { FloatArray, WeightData } from "./arrays.js";
import { decodeWeights } from "./arrays.js";

export function embedding(ids: Int32Array, table: WeightData, out: FloatArray, n: number, dim: number): void {
  for (let i = 0; i < n; i++) decodeWeights(table, ids[i]! * dim, dim, out, i * dim);
}

export function embeddingBackward(
  ids: Int32Array,
  dy: FloatArray,
  dtable: FloatArray,
  n: number,
  dim: number,
): void {
  for (let i = 0; i < n; i++) {
    const r = ids[i]! * dim;
    for (let c = 0; c < dim; c++) dtable[r + c] = dtable[r + c]! + dy[i * dim + c]!;
  }
}

/** [C, H, W] → [(H/P)·(W/P), C·P·P]: the rows a stride-P convolution multiplies with its [O, C·P·P] weight. */
export function patchify(
  img: FloatArray,
  out: FloatArray,
  channels: number,
  height: number,
  width: number,
  patch: number,
): void {
  const gh = Math.floor(height / patch);
  const gw = Math.floor(width / patch);
  const row = channels * patch * patch;
  for (let py = 0; py < gh; py++)
    for (let px = 0; px < gw; px++) {
      const o = (py * gw + px) * row;
      for (let c = 0; c < channels; c++)
        for (let ky = 0; ky < patch; ky++)
          for (let kx = 0; kx < patch; kx++)
            out[o + (c * patch + ky) * patch + kx] =
              img[(c * height + py * patch + ky) * width + px * patch + kx]!;
    }
}
