/** Gathers and layout ops: embedding lookup, image patches, row concatenation. */

import type { DenseDType } from "../../formats/dtype.js";
import { elementBytes } from "../../formats/dtype.js";
import { ShapeError } from "../../util/errors.js";
import { record } from "../autograd.js";
import type { Tensor } from "../tensor.js";
import { empty, formatOf, zeros } from "../tensor.js";
import { dense, expectDType, expectF32 } from "./check.js";

/** table[ids] → [...ids.shape, dim]; ids i32, table [vocab, dim] in any weight format. */
export function embedding(ids: Tensor, table: Tensor): Tensor {
  expectDType("embedding", "ids", ids, ["i32"]);
  if (table.ndim !== 2) throw new ShapeError(`embedding: table must be [vocab, dim], got [${table.shape}]`);
  const [vocab, dim] = table.shape as [number, number];
  const idd = dense(ids);
  for (const id of new Int32Array(ids.backend.heap.buffer, idd.ptr, ids.numel))
    if (id < 0 || id >= vocab)
      throw new ShapeError(`embedding: token id ${id} outside the vocabulary of ${vocab}`);
  const out = empty(table.backend, "f32", [...ids.shape, dim]);
  table.backend.embedding(idd.ptr, table.ptr, formatOf(table.dtype), out.ptr, ids.numel, dim);
  if (idd !== ids) idd.dispose();
  record(out, [table], [ids], (g, tape) => {
    expectF32("embedding backward", "trainable table", table);
    const dt = zeros(table.backend, table.shape);
    const [gd, id2] = [dense(g), dense(ids)];
    table.backend.embeddingBackward(id2.ptr, gd.ptr, dt.ptr, ids.numel, dim);
    tape.accumulate(table, dt);
  });
  return out;
}

/** Image [C, H, W] → patches [(H/P)·(W/P), C·P·P], the input of a stride-P convolution as a matmul. */
export function patchify(img: Tensor, patch: number): Tensor {
  expectF32("patchify", "image", img);
  if (img.ndim !== 3) throw new ShapeError(`patchify: image must be [C, H, W], got [${img.shape}]`);
  const [c, h, w] = img.shape as [number, number, number];
  if (h < patch || w < patch)
    throw new ShapeError(`patchify: image ${w}×${h} smaller than a ${patch}px patch`);
  const gh = Math.floor(h / patch);
  const gw = Math.floor(w / patch);
  const id = dense(img);
  const out = empty(img.backend, "f32", [gh * gw, c * patch * patch]);
  img.backend.patchify(id.ptr, out.ptr, c, h, w, patch);
  if (id !== img) id.dispose();
  return out;
}

/** Concatenates 2-D (or flattened-to-2-D) tensors along rows; all must share the last dimension. */
export function concatRows(parts: readonly Tensor[]): Tensor {
  if (parts.length === 0) throw new ShapeError("concatRows: nothing to concatenate");
  const first = parts[0]!;
  const cols = first.dim(-1);
  const dtype = first.dtype;
  let rows = 0;
  for (const p of parts) {
    if (p.dim(-1) !== cols || p.dtype !== dtype)
      throw new ShapeError(`concatRows: [${p.shape}] ${p.dtype} does not match [${first.shape}] ${dtype}`);
    rows += p.numel / cols;
  }
  const out = empty(first.backend, dtype, [rows, cols]);
  const eb = elementBytes(dtype as DenseDType);
  let at = 0;
  for (const p of parts) {
    const pd = dense(p);
    first.backend.copyStrided(pd.ptr, out.ptr + at * eb, 1, [pd.byteLength], [1]);
    at += p.numel;
    if (pd !== p) pd.dispose();
  }
  record(out, parts, [], (g, tape) => {
    let row = 0;
    for (const p of parts) {
      const n = p.numel / cols;
      if (p.requiresGrad) tape.accumulate(p, g.slice(0, row, row + n).contiguous());
      row += n;
    }
  });
  return out;
}
