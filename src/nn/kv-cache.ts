/**
 * The key/value cache of a decoder: per layer, K and V rows [capacity, kvHeads·headDim] in f16 or f32 (f16 as
 * llama.cpp stores them: half the memory and half the bytes a decode step reads; the new rows are rounded once
 * when stored). A forward pass of T new tokens writes rows [length, length + T) in every layer, then
 * `advance(T)` makes them the past. Capacity grows on demand (the rows are copied), so short chats do not
 * reserve the whole context.
 */
import type { Backend } from "../backend/backend.js";
import { WeightFormat } from "../backend/backend.js";
import { keep } from "../tensor/scope.js";
import type { Tensor } from "../tensor/tensor.js";
import { empty, writeRows } from "../tensor/tensor.js";
import { ShapeError } from "../util/errors.js";

/** Element types a KV cache may store. */
export type KVDType = "f16" | "f32";
export const KV_DTYPES: readonly KVDType[] = ["f16", "f32"];

export class KVCache {
  private k: Tensor[] = [];
  private v: Tensor[] = [];
  private cap = 0;
  /** Positions already in the cache. */
  length = 0;

  constructor(
    readonly backend: Backend,
    readonly layers: number,
    readonly kvDim: number,
    readonly maxLength: number,
    readonly dtype: KVDType = "f32",
  ) {}

  get capacity(): number {
    return this.cap;
  }

  /** Bytes held: K and V rows of every layer at the current capacity. */
  get bytes(): number {
    return 2 * this.layers * this.cap * this.kvDim * (this.dtype === "f16" ? 2 : 4);
  }

  /** Makes room for `n` more positions. */
  reserve(n: number): void {
    const need = this.length + n;
    if (need > this.maxLength)
      throw new ShapeError(
        `the sequence needs ${need} positions but the model's context holds ${this.maxLength}; ` +
          "shorten the prompt or ask for fewer new tokens",
      );
    if (need <= this.cap) return;
    const cap = Math.min(this.maxLength, Math.max(need, Math.ceil(this.cap * 1.5), 64));
    for (let l = 0; l < this.layers; l++) {
      for (const list of [this.k, this.v]) {
        const grown = keep(empty(this.backend, this.dtype, [cap, this.kvDim])); // outlives the forward pass
        const old = list[l];
        if (old) {
          if (this.length > 0) writeRows(grown, 0, old.slice(0, 0, this.length));
          old.dispose();
        }
        list[l] = grown;
      }
    }
    this.cap = cap;
  }

  /**
   * Stores the new rows of layer `l` (f32 [T, kvDim], rounded to the cache's dtype) and returns K, V views over
   * all positions so far including them, in the cache's dtype.
   */
  update(l: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const t = k.numel / this.kvDim;
    if (this.length + t > this.cap) throw new Error("KVCache.update past capacity: call reserve() first");
    this.store(this.k[l]!, k);
    this.store(this.v[l]!, v);
    return { k: this.k[l]!.slice(0, 0, this.length + t), v: this.v[l]!.slice(0, 0, this.length + t) };
  }

  private store(dst: Tensor, rows: Tensor): void {
    if (this.dtype === "f32" || rows.dtype !== "f32") {
      writeRows(dst, this.length, rows);
      return;
    }
    if (rows.dim(-1) !== this.kvDim)
      throw new ShapeError(`KVCache: rows [${rows.shape}] do not have the cache's width ${this.kvDim}`);
    const src = rows.isContiguous ? rows : rows.contiguous();
    this.backend.convert(
      src.ptr,
      WeightFormat.f32,
      dst.ptr + this.length * this.kvDim * 2,
      WeightFormat.f16,
      src.numel,
    );
    if (src !== rows) src.dispose();
  }

  advance(t: number): void {
    this.length += t;
  }

  /** Forgets positions from `length` on (keeps the memory). */
  truncate(length: number): void {
    if (length < 0 || length > this.length)
      throw new ShapeError(`cannot truncate a cache of ${this.length} to ${length}`);
    this.length = length;
  }

  dispose(): void {
    for (const t of [...this.k, ...this.v]) t.dispose();
    this.k = [];
    this.v = [];
    this.cap = 0;
    this.length = 0;
  }
}
