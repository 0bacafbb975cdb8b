/**
 * The image cache: the connector's output for an image, kept so a second question about the same image skips the
 * vision tower (the most expensive part of an image question on a CPU). Keyed by a SHA-256 of the tower's input
 * (the decoded pixels after preprocessing, so the preprocessing settings and the visual-token count are in it),
 * bounded by bytes, least recently used first out. An entry in use by a generation is pinned: eviction skips it
 * until it is released, so a tensor is never freed under a running pass. Only whole results go in: a cancelled
 * or failed encode leaves nothing behind.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { Tensor } from "../tensor/tensor.js";

interface Entry {
  embeds: Tensor;
  bytes: number;
  pins: number;
}

export interface ImageCacheStats {
  hits: number;
  misses: number;
  entries: number;
  bytes: number;
  maxBytes: number;
}

export class ImageCache {
  /** Insertion order is recency: a hit moves its entry to the end. */
  private readonly entries = new Map<string, Entry>();
  private used = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number) {
    if (!(maxBytes >= 0)) throw new RangeError(`image cache: maxBytes must be ≥ 0, got ${maxBytes}`);
  }

  /** The key of a preprocessed image: its pixels' SHA-256 with the shape. */
  static key(pixels: Float32Array, shape: readonly number[]): string {
    const bytes = new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
    return `${shape.join("x")}:${bytesToHex(sha256(bytes))}`;
  }

  /** The embeddings for `key`, pinned until `release(key)`; null on a miss (counted). */
  acquire(key: string): Tensor | null {
    const e = this.entries.get(key);
    if (!e) {
      this.misses++;
      return null;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, e);
    e.pins++;
    return e.embeds;
  }

  /**
   * Stores the embeddings of `key`, pinned as by `acquire`, and takes ownership of the tensor. Returns false (the
   * caller keeps ownership) when it would not fit even in an empty cache, or the key is already there.
   */
  insert(key: string, embeds: Tensor): boolean {
    const bytes = embeds.numel * 4;
    if (bytes > this.maxBytes || this.entries.has(key)) return false;
    this.evict(this.maxBytes - bytes);
    if (this.used + bytes > this.maxBytes) return false;
    this.entries.set(key, { embeds, bytes, pins: 1 });
    this.used += bytes;
    return true;
  }

  /** Unpins an entry taken by `acquire` or `insert`; frees it if it was evicted meanwhile or the budget shrank. */
  release(key: string): void {
    const e = this.entries.get(key);
    if (e && e.pins > 0) e.pins--;
    this.evict(this.maxBytes);
  }

  /** Frees least recently used entries that are not pinned until at most `budget` bytes are held. */
  private evict(budget: number): void {
    for (const [key, e] of this.entries) {
      if (this.used <= budget) return;
      if (e.pins > 0) continue;
      this.entries.delete(key);
      this.used -= e.bytes;
      e.embeds.dispose();
    }
  }

  stats(): ImageCacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      entries: this.entries.size,
      bytes: this.used,
      maxBytes: this.maxBytes,
    };
  }

  /** Frees every entry (pinned ones too: call it only when no generation runs). */
  clear(): void {
    for (const e of this.entries.values()) e.embeds.dispose();
    this.entries.clear();
    this.used = 0;
  }
}
