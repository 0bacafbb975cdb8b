/**
 * A heap over one linear memory (a WebAssembly.Memory): tensors live at byte offsets in it, so the same
 * pointers work for JavaScript typed-array views and for WebAssembly kernels on any thread. First-fit over an
 * address-ordered free list with coalescing; blocks are 64-byte aligned (cache lines, and any SIMD load).
 * The memory grows on demand up to 4 GiB (wasm32).
 */
import { ImpError } from "../util/errors.js";

export const PAGE = 65536;
export const MAX_PAGES = 65536; // 4 GiB
const ALIGN = 64;

export class OutOfMemoryError extends ImpError {}

interface FreeBlock {
  start: number;
  size: number;
}

export class Heap {
  private free: FreeBlock[] = [];
  private readonly live = new Map<number, number>();
  private top: number; // end of the managed region (= memory size)
  private usedBytes = 0;
  private peakBytes = 0;

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly base: number,
  ) {
    this.top = memory.buffer.byteLength;
    if (base % ALIGN !== 0 || base >= this.top) throw new Error(`heap base ${base} is not usable`);
    this.free.push({ start: base, size: this.top - base });
  }

  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  get used(): number {
    return this.usedBytes;
  }
  get peak(): number {
    return this.peakBytes;
  }
  get capacity(): number {
    return this.top;
  }

  /** Allocates `bytes` (rounded up to 64) and returns the offset; never returns 0. */
  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.size >= size) return this.take(i, size);
    }
    this.grow(size);
    return this.alloc(bytes);
  }

  /** Returns a block to the heap. Freeing an unknown pointer is a bug and throws. */
  release(ptr: number): void {
    const size = this.live.get(ptr);
    if (size === undefined) throw new Error(`heap: release of unknown pointer ${ptr}`);
    this.live.delete(ptr);
    this.usedBytes -= size;
    // Insert in address order, then merge with neighbours.
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid]!.start < ptr) lo = mid + 1;
      else hi = mid;
    }
    this.free.splice(lo, 0, { start: ptr, size });
    const next = this.free[lo + 1];
    const cur = this.free[lo]!;
    if (next && cur.start + cur.size === next.start) {
      cur.size += next.size;
      this.free.splice(lo + 1, 1);
    }
    const prev = this.free[lo - 1];
    if (prev && prev.start + prev.size === cur.start) {
      prev.size += cur.size;
      this.free.splice(lo, 1);
    }
  }

  sizeOf(ptr: number): number {
    return this.live.get(ptr) ?? 0;
  }

  private take(i: number, size: number): number {
    const b = this.free[i]!;
    const ptr = b.start;
    if (b.size === size) this.free.splice(i, 1);
    else {
      b.start += size;
      b.size -= size;
    }
    this.live.set(ptr, size);
    this.usedBytes += size;
    if (this.usedBytes > this.peakBytes) this.peakBytes = this.usedBytes;
    return ptr;
  }

  private grow(size: number): void {
    const last = this.free[this.free.length - 1];
    const tail = last && last.start + last.size === this.top ? last.size : 0;
    const need = size - tail;
    const pagesNow = this.top / PAGE;
    const want = Math.max(Math.ceil(need / PAGE), Math.ceil(pagesNow / 4));
    const pages = Math.min(want, MAX_PAGES - pagesNow);
    if (pages < Math.ceil(need / PAGE)) {
      throw new OutOfMemoryError(
        `out of memory: cannot allocate ${fmtBytes(size)} (in use ${fmtBytes(this.usedBytes)} of the 4 GiB ` +
          "a WebAssembly memory can hold). Use a smaller model or quantized weights (--dtype q8 or q4).",
      );
    }
    this.memory.grow(pages);
    const oldTop = this.top;
    this.top = this.memory.buffer.byteLength;
    if (tail > 0) last!.size += this.top - oldTop;
    else this.free.push({ start: oldTop, size: this.top - oldTop });
  }
}

export function fmtBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}
