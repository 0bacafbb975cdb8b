/**
 * The conversation cache: the KV cache of the last finished generation, kept with what each of its positions
 * holds, so a request whose prompt starts the same way (the same image and turns, then a new question: a chat's
 * next message) runs only the positions after the shared prefix, as llama-server's prompt cache does. One entry
 * (the last conversation), bounded by bytes; a request takes it (so two requests never share it), and only a
 * generation that ended by itself puts one back: a cancelled or failed one leaves the cache empty, never half
 * written.
 */
import type { KVCache } from "../nn/kv-cache.js";

/** What a cached position holds: a token id, or position j of the image whose cache key is k (`"k#j"`). */
export type PositionKey = number | string;

export interface PrefixCacheStats {
  hits: number;
  misses: number;
  /** Positions not run again thanks to the cache, over all requests. */
  reusedPositions: number;
  bytes: number;
  maxBytes: number;
}

/** Bytes a KV cache holds (K and V rows of every layer, in its dtype, at its capacity). */
export function kvCacheBytes(cache: KVCache): number {
  return cache.bytes;
}

export class PrefixCache {
  private saved: { cache: KVCache; keys: PositionKey[] } | null = null;
  hits = 0;
  misses = 0;
  reusedPositions = 0;

  constructor(readonly maxBytes: number) {
    if (!(maxBytes >= 0)) throw new RangeError(`conversation cache: maxBytes must be ≥ 0, got ${maxBytes}`);
  }

  /**
   * The saved cache cut to the longest prefix it shares with `keys`, leaving at least one position to run (the
   * last position's logits are the next token's). Ownership passes to the caller; null when nothing is shared.
   */
  take(keys: readonly PositionKey[]): { cache: KVCache; reused: number } | null {
    const saved = this.saved;
    this.saved = null;
    if (!saved) {
      this.misses++;
      return null;
    }
    const limit = Math.min(saved.keys.length, keys.length - 1);
    let n = 0;
    while (n < limit && saved.keys[n] === keys[n]) n++;
    if (n === 0) {
      saved.cache.dispose();
      this.misses++;
      return null;
    }
    saved.cache.truncate(n);
    this.hits++;
    this.reusedPositions += n;
    return { cache: saved.cache, reused: n };
  }

  /** Keeps a finished generation's cache (ownership passes here), unless it is over the budget. */
  store(cache: KVCache, keys: readonly PositionKey[]): void {
    if (cache.length !== keys.length)
      throw new Error(`PrefixCache.store: ${cache.length} rows, ${keys.length} keys`);
    this.saved?.cache.dispose();
    this.saved = null;
    if (kvCacheBytes(cache) > this.maxBytes) {
      cache.dispose();
      return;
    }
    this.saved = { cache, keys: [...keys] };
  }

  stats(): PrefixCacheStats {
    const bytes = this.saved ? kvCacheBytes(this.saved.cache) : 0;
    return {
      hits: this.hits,
      misses: this.misses,
      reusedPositions: this.reusedPositions,
      bytes,
      maxBytes: this.maxBytes,
    };
  }

  clear(): void {
    this.saved?.cache.dispose();
    this.saved = null;
  }
}
