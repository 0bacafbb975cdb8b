/**
 * The key/value cache of a decoder: per layer, K and V rows [capacity, kvHeads·headDim] in f32. A forward pass
 * of T new tokens writes rows [length, length + T) in every layer, then `advance(T)` makes them the past.
 * Capacity grows on demand (the rows are copied), so short chats do not reserve the whole context.
 */
import type { Backend } from "../backend/backend.js";
import { keep } from "../tensor/scope.js";
import type { Tensor } from "../tensor/tensor.js";
import { empty, writeRows } from "../tensor/tensor.js";
import { ShapeError } from "../util/errors.js";

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
  ) {}

  get capacity(): number {
    return this.cap;
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
        const grown = keep(empty(this.backend, "f32", [cap, this.kvDim])); // outlives the forward pass
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

  /** Stores the new rows of layer `l` and returns K, V views over all positions so far including them. */
  update(l: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const t = k.numel / this.kvDim;
    if (this.length + t > this.cap) throw new Error("KVCache.update past capacity: call reserve() first");
    writeRows(this.k[l]!, this.length, k);
    writeRows(this.v[l]!, this.length, v);
    return { k: this.k[l]!.slice(0, 0, this.length + t), v: this.v[l]!.slice(0, 0, this.length + t) };
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
