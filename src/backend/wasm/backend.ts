/**
 * The `wasm` backend: the kernels of assembly/ (WebAssembly SIMD128, relaxed SIMD where the runtime has it)
 * on one shared WebAssembly.Memory, split over a pool of threads (pool.ts). Each method picks how many
 * threads a call is worth from its size (a result never depends on it: kernels split work by output
 * elements) and hands the kernel its pointers.
 */
import type { Activation, Backend, GemmArgs } from "../backend.js";
import { WeightFormat } from "../backend.js";
import { Heap, MAX_PAGES } from "../heap.js";
import { CONTROL_BYTES, CONTROL_END, COUNTER, COUNTER_BYTES, kernelTable } from "./control.js";
import { loadKernelModule } from "./load-module.js";
import { ThreadPool } from "./pool.js";
import { probeRelaxedDot, type RelaxedDotBehaviour } from "./relaxed-probe.js";

/** The kernels' memory base (scripts/build-wasm.mjs --memoryBase): the heap starts there. */
const HEAP_BASE = 65536;
/** Pages the module declares as its minimum (--initialMemory). */
const INITIAL_PAGES = 32;

export interface WasmBackendOptions {
  threads: number;
  /** Use the relaxed-SIMD build when the runtime supports it (default true). */
  relaxedSimd?: boolean;
  /**
   * Testing: give every call all threads, however small, so that splitting is exercised everywhere
   * (results are the same either way).
   */
  splitAll?: boolean;
}

/** Up to this many rows, linearQuant streams the weights (assembly/linearquant.ts); more take linearQuantGemm. */
const LINEAR_QUANT_STREAM_M = 4;

/** Minimum work per thread (in each op's own unit) before a call is split. */
const GRAIN = {
  elements: 32768,
  transcendental: 4096,
  flops: 1 << 19,
  weightBytes: 1 << 16,
};

export class WasmBackend implements Backend {
  readonly name = "wasm" as const;
  readonly features: readonly string[];
  intProducts = true;
  private scratch = 0;
  private scratchStride = 0;
  private stats = 0;
  private statsBytes = 0;
  private partials = 0;
  private partialsBytes = 0;
  private readonly ctl: Int32Array;
  private threadLimit: number;
  /** Op id of each kernel, by export name. */
  private readonly ops: ReadonlyMap<string, number>;

  private constructor(
    readonly heap: Heap,
    private readonly pool: ThreadPool,
    kernels: readonly string[],
    private readonly scratchBytes: (k: number) => number,
    private readonly attentionScratchBytes: (group: number, headDim: number) => number,
    private readonly sumSquaresChunk: number,
    readonly relaxed: RelaxedDotBehaviour | null,
    private readonly splitAll: boolean,
  ) {
    this.ctl = new Int32Array(heap.buffer, CONTROL_BYTES, COUNTER + 1);
    this.ops = new Map(kernels.map((name, i) => [name, i]));
    this.threadLimit = pool.threads;
    this.features = ["simd128", ...(relaxed ? ["relaxed-simd"] : []), `threads=${pool.threads}`];
  }

  static async create(opts: WasmBackendOptions): Promise<WasmBackend> {
    if (CONTROL_END > HEAP_BASE) throw new Error("control block overlaps the kernels' memory");
    let { module, relaxed } = await loadKernelModule(opts.relaxedSimd ?? true);
    const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
    let instance = new WebAssembly.Instance(module, { env: { memory } });
    const heap = new Heap(memory, HEAP_BASE);
    let behaviour: RelaxedDotBehaviour | null = null;
    if (relaxed) {
      const probe = instance.exports.relaxedDotProbe as (
        a: number,
        b: number,
        c: number,
        o: number,
      ) => number;
      behaviour = probeRelaxedDot(probe, heap);
      if (!behaviour?.i16Exact) {
        // The one relaxed operation the kernels rely on is wrong here: use the plain build.
        ({ module, relaxed } = await loadKernelModule(false));
        instance = new WebAssembly.Instance(module, { env: { memory } });
        behaviour = null;
      }
    }
    const kernels = kernelTable(module, instance);
    const pool = await ThreadPool.create(module, memory, kernels, opts.threads);
    const scratchBytes = instance.exports.scratchBytes as (k: number) => number;
    const attentionScratch = instance.exports.decodeAttentionScratch as (g: number, d: number) => number;
    const chunk = (instance.exports.sumSquaresChunk as () => number)();
    return new WasmBackend(
      heap,
      pool,
      kernels.names,
      scratchBytes,
      attentionScratch,
      chunk,
      behaviour,
      opts.splitAll ?? false,
    );
  }

  get threads(): number {
    return this.pool.threads;
  }

  /** Caps the threads any later call uses (benchmarks compare thread counts on one backend); 0 lifts it. */
  limitThreads(n: number): void {
    this.threadLimit = n > 0 ? Math.min(n, this.pool.threads) : this.pool.threads;
  }

  /** Threads for a call of `work` units worth `grain` each, over at most `shares` separate shares. */
  private par(work: number, grain: number, shares = Number.POSITIVE_INFINITY): number {
    const t = this.splitAll ? this.threadLimit : Math.floor(work / grain);
    return Math.max(1, Math.min(this.threadLimit, t, shares));
  }

  private run(name: string, args: number[], nth: number): void {
    const op = this.ops.get(name);
    if (op === undefined)
      throw new Error(`kernel module lacks export "${name}": rebuild with npm run build:wasm`);
    this.pool.run(op, args, nth);
  }

  /** Per-thread scratch for calls with inner dimension k: [threads × stride] bytes, grown on demand. */
  private ensureScratch(k: number): void {
    this.ensureScratchBytes(this.scratchBytes(k));
  }

  /** Per-thread scratch of at least `bytes` per thread (a 64-byte multiple stride), grown on demand. */
  private ensureScratchBytes(bytes: number): void {
    const need = Math.ceil(bytes / 64) * 64;
    if (need <= this.scratchStride) return;
    if (this.scratch) this.heap.release(this.scratch);
    this.scratch = this.heap.alloc(need * this.pool.threads);
    this.scratchStride = need;
  }

  private ensureStats(bytes: number): number {
    if (bytes > this.statsBytes) {
      if (this.stats) this.heap.release(this.stats);
      this.stats = this.heap.alloc(bytes);
      this.statsBytes = bytes;
    }
    return this.stats;
  }

  private ensurePartials(bytes: number): number {
    if (bytes > this.partialsBytes) {
      if (this.partials) this.heap.release(this.partials);
      this.partials = this.heap.alloc(bytes);
      this.partialsBytes = bytes;
    }
    return this.partials;
  }

  // ── memory and layout ────────────────────────────────────────────────────────────────────────────────
  fill(out: number, n: number, value: number): void {
    this.run("fill", [out, n, value], this.par(n, GRAIN.elements, Math.ceil(n / 16)));
  }

  copyStrided(
    src: number,
    dst: number,
    elemBytes: number,
    shape: readonly number[],
    strides: readonly number[],
  ): void {
    if (![1, 2, 4, 8].includes(elemBytes)) throw new Error(`copyStrided: element size ${elemBytes}`);
    if (shape.length > 4 || shape.length !== strides.length)
      throw new Error(`copyStrided: shape [${shape}] and strides [${strides}] must have the same length ≤ 4`);
    const sh = [1, 1, 1, 1];
    const st = [0, 0, 0, 0];
    for (let i = 0; i < shape.length; i++) {
      sh[4 - shape.length + i] = shape[i]!;
      st[4 - shape.length + i] = strides[i]!;
    }
    const rows = sh[0]! * sh[1]! * sh[2]!;
    if (rows * sh[3]! === 0) return;
    const nth = this.par(rows * sh[3]! * elemBytes, 4 * GRAIN.elements, rows);
    this.run("copyStrided", [src, dst, elemBytes, ...sh, ...st], nth);
  }

  convert(src: number, srcFormat: WeightFormat, dst: number, dstFormat: WeightFormat, n: number): void {
    notRepacked("convert", srcFormat, dstFormat);
    if ((isQuant(srcFormat) || isQuant(dstFormat)) && n % 32 !== 0)
      throw new Error(`convert: q8/q4 data holds whole blocks of 32 values; got ${n} values`);
    this.ensureScratch(0);
    const nth = this.par(n, GRAIN.elements / 4, Math.ceil(n / 32));
    this.run("convert", [src, srcFormat, dst, dstFormat, n, this.scratch, this.scratchStride], nth);
  }

  // ── element-wise ───────────────────────────────────────────────────────────────────────────────────
  add(a: number, b: number, out: number, n: number, bn: number): void {
    this.run("add", [a, b, out, n, bn], this.par(n, GRAIN.elements, Math.ceil(n / 16)));
  }
  mul(a: number, b: number, out: number, n: number, bn: number): void {
    this.run("mul", [a, b, out, n, bn], this.par(n, GRAIN.elements, Math.ceil(n / 16)));
  }
  scale(a: number, out: number, n: number, s: number): void {
    this.run("scale", [a, out, n, s], this.par(n, GRAIN.elements, Math.ceil(n / 16)));
  }
  axpy(y: number, x: number, n: number, alpha: number): void {
    this.run("axpy", [y, x, n, alpha], this.par(n, GRAIN.elements, Math.ceil(n / 16)));
  }
  activation(x: number, out: number, n: number, fn: Activation): void {
    this.run("activation", [x, out, n, fn], this.par(n, GRAIN.transcendental, Math.ceil(n / 16)));
  }
  activationBackward(x: number, dy: number, dx: number, n: number, fn: Activation): void {
    this.run("activationBackward", [x, dy, dx, n, fn], this.par(n, GRAIN.transcendental, Math.ceil(n / 16)));
  }
  swiglu(gate: number, up: number, out: number, n: number): void {
    this.run("swiglu", [gate, up, out, n], this.par(n, GRAIN.transcendental, Math.ceil(n / 16)));
  }
  swigluBackward(gate: number, up: number, dy: number, dgate: number, dup: number, n: number): void {
    const nth = this.par(n, GRAIN.transcendental, Math.ceil(n / 16));
    this.run("swigluBackward", [gate, up, dy, dgate, dup, n], nth);
  }

  // ── reductions ─────────────────────────────────────────────────────────────────────────────────────
  sumRows(x: number, out: number, rows: number, cols: number): void {
    this.run("sumRows", [x, out, rows, cols], this.par(rows * cols, GRAIN.elements, Math.ceil(cols / 16)));
  }
  rowSums(x: number, out: number, rows: number, cols: number): void {
    this.run("rowSums", [x, out, rows, cols], this.par(rows * cols, GRAIN.elements, rows));
  }
  sumSquares(x: number, n: number): number {
    const chunks = Math.ceil(n / this.sumSquaresChunk);
    if (chunks === 0) return 0;
    const partials = this.ensurePartials(chunks * 8);
    this.run("sumSquares", [x, n, partials], this.par(n, GRAIN.elements, chunks));
    const p = new Float64Array(this.heap.buffer, partials, chunks);
    let s = 0;
    for (let i = 0; i < chunks; i++) s += p[i]!;
    return s;
  }

  // ── normalisation ──────────────────────────────────────────────────────────────────────────────────
  layerNorm(x: number, w: number, b: number, out: number, rows: number, cols: number, eps: number): void {
    this.run("layerNorm", [x, w, b, out, rows, cols, eps], this.par(rows * cols, GRAIN.elements / 2, rows));
  }
  layerNormBackward(
    x: number,
    w: number,
    dy: number,
    dx: number,
    dw: number,
    db: number,
    rows: number,
    cols: number,
    eps: number,
  ): void {
    const stats = this.ensureStats(rows * 8);
    const work = rows * cols;
    this.run(
      "layerNormBackwardRows",
      [x, w, dy, dx, stats, rows, cols, eps],
      this.par(work, GRAIN.elements / 2, rows),
    );
    if (dw || db) {
      const nth = this.par(work, GRAIN.elements, Math.ceil(cols / 16));
      this.run("normBackwardCols", [x, dy, dw, db, stats, rows, cols], nth);
    }
  }
  rmsNorm(x: number, w: number, out: number, rows: number, cols: number, eps: number): void {
    this.run("rmsNorm", [x, w, out, rows, cols, eps], this.par(rows * cols, GRAIN.elements / 2, rows));
  }
  rmsNormBackward(
    x: number,
    w: number,
    dy: number,
    dx: number,
    dw: number,
    rows: number,
    cols: number,
    eps: number,
  ): void {
    const stats = this.ensureStats(rows * 8);
    const work = rows * cols;
    this.run(
      "rmsNormBackwardRows",
      [x, w, dy, dx, stats, rows, cols, eps],
      this.par(work, GRAIN.elements / 2, rows),
    );
    if (dw)
      this.run(
        "normBackwardCols",
        [x, dy, dw, 0, stats, rows, cols],
        this.par(work, GRAIN.elements, Math.ceil(cols / 16)),
      );
  }

  // ── softmax, attention pieces, loss ────────────────────────────────────────────────────────────────
  softmax(x: number, out: number, rows: number, cols: number, causalT: number, pastLen: number): void {
    const nth = this.par(rows * cols, GRAIN.transcendental, rows);
    this.run("softmax", [x, out, rows, cols, causalT, pastLen], nth);
  }
  decodeAttention(
    q: number,
    k: number,
    v: number,
    kvFormat: WeightFormat,
    out: number,
    t: number,
    s: number,
    heads: number,
    kvHeads: number,
    headDim: number,
    scale: number,
  ): void {
    if (kvFormat !== WeightFormat.f32 && kvFormat !== WeightFormat.f16)
      throw new Error(`decodeAttention: K/V must be f32 or f16, got format ${kvFormat}`);
    if (heads % kvHeads !== 0) throw new Error(`decodeAttention: ${heads} heads, ${kvHeads} KV heads`);
    this.ensureScratchBytes(this.attentionScratchBytes(heads / kvHeads, headDim));
    const nth = this.par(4 * t * heads * s * headDim, GRAIN.flops, t * kvHeads);
    const args = [q, k, v, kvFormat, out, t, s, heads, kvHeads, headDim, scale];
    this.run("decodeAttention", [...args, this.scratch, this.scratchStride], nth);
  }
  softmaxBackward(y: number, dy: number, dx: number, rows: number, cols: number): void {
    this.run("softmaxBackward", [y, dy, dx, rows, cols], this.par(rows * cols, GRAIN.elements / 2, rows));
  }
  rope(
    x: number,
    out: number,
    cos: number,
    sin: number,
    t: number,
    heads: number,
    headDim: number,
    rotDim: number,
    inverse: boolean,
  ): void {
    if (rotDim % 2 !== 0 || rotDim > headDim)
      throw new Error(`rope: rotDim ${rotDim} must be even and ≤ headDim ${headDim}`);
    const nth = this.par(t * heads * headDim, GRAIN.elements / 2, t * heads);
    this.run("rope", [x, out, cos, sin, t, heads, headDim, rotDim, inverse ? 1 : 0], nth);
  }
  crossEntropy(
    logits: number,
    targets: number,
    loss: number,
    rows: number,
    vocab: number,
    ignoreIndex: number,
  ): void {
    const nth = this.par(rows * vocab, GRAIN.transcendental, rows);
    this.run("crossEntropy", [logits, targets, loss, rows, vocab, ignoreIndex], nth);
  }
  crossEntropyBackward(
    logits: number,
    targets: number,
    dlogits: number,
    rows: number,
    vocab: number,
    ignoreIndex: number,
    scale: number,
  ): void {
    const nth = this.par(rows * vocab, GRAIN.transcendental, rows);
    this.run("crossEntropyBackward", [logits, targets, dlogits, rows, vocab, ignoreIndex, scale], nth);
  }

  // ── gathers ────────────────────────────────────────────────────────────────────────────────────────
  embedding(
    ids: number,
    table: number,
    tableFormat: WeightFormat,
    out: number,
    n: number,
    dim: number,
  ): void {
    notRepacked("embedding", tableFormat);
    if (isQuant(tableFormat) && dim % 32 !== 0)
      throw new Error(`embedding: q8/q4 rows of ${dim} are not whole blocks`);
    this.run("embedding", [ids, table, tableFormat, out, n, dim], this.par(n * dim, GRAIN.elements, n));
  }
  embeddingBackward(ids: number, dy: number, dtable: number, n: number, dim: number): void {
    this.run(
      "embeddingBackward",
      [ids, dy, dtable, n, dim],
      this.par(n * dim, GRAIN.elements, Math.ceil(dim / 16)),
    );
  }
  patchify(img: number, out: number, channels: number, height: number, width: number, patch: number): void {
    const patches = Math.floor(height / patch) * Math.floor(width / patch);
    const nth = this.par(channels * height * width, GRAIN.elements, patches);
    this.run("patchify", [img, out, channels, height, width, patch], nth);
  }

  // ── matrix products ────────────────────────────────────────────────────────────────────────────────
  gemm(g: GemmArgs): void {
    notRepacked("gemm", g.bFormat);
    if (isQuant(g.bFormat) && (!g.transB || g.k % 32 !== 0 || g.ldb !== g.k))
      throw new Error(`gemm: q8/q4 B must be transposed [n, k] with k (${g.k}) a multiple of 32 and ldb = k`);
    if (g.batch === 0 || g.m === 0 || g.n === 0) return;
    if (g.k === 0) {
      this.gemmEmpty(g);
      return;
    }
    this.ensureScratch(g.k);
    Atomics.store(this.ctl, COUNTER, 0);
    const nth = this.par(
      2 * g.batch * g.m * g.n * g.k,
      GRAIN.flops,
      g.batch * Math.ceil(g.n / 4) * Math.ceil(g.m / 4),
    );
    this.run(
      "gemm",
      [
        g.a,
        g.b,
        g.c,
        g.bias,
        g.bFormat,
        g.batch,
        g.m,
        g.n,
        g.k,
        g.transA ? 1 : 0,
        g.transB ? 1 : 0,
        g.lda,
        g.ldb,
        g.ldc,
        g.strideA,
        g.strideB,
        g.strideC,
        g.bGroup,
        g.alpha,
        g.accumulate ? 1 : 0,
        this.scratch,
        this.scratchStride,
        COUNTER_BYTES,
      ],
      nth,
    );
  }

  /** gemm with k = 0: C = (C if accumulate, else 0) + bias. */
  private gemmEmpty(g: GemmArgs): void {
    const f = new Float32Array(this.heap.buffer);
    for (let bi = 0; bi < g.batch; bi++)
      for (let i = 0; i < g.m; i++) {
        const row = (g.c >>> 2) + bi * g.strideC + i * g.ldc;
        for (let j = 0; j < g.n; j++)
          f[row + j] = (g.accumulate ? f[row + j]! : 0) + (g.bias ? f[(g.bias >>> 2) + j]! : 0);
      }
  }

  linearDot(
    x: number,
    w: number,
    wFormat: WeightFormat,
    bias: number,
    out: number,
    m: number,
    n: number,
    k: number,
  ) {
    notRepacked("linearDot", wFormat);
    if (isQuant(wFormat) && k % 32 !== 0)
      throw new Error(`linearDot: q8/q4 rows of ${k} are not whole blocks`);
    this.ensureScratch(k);
    const nth = this.par(n * k * bytesPer(wFormat) * Math.max(1, m / 4), GRAIN.weightBytes, Math.ceil(n / 4));
    Atomics.store(this.ctl, COUNTER, 0);
    this.run(
      "linearDot",
      [x, w, wFormat, bias, out, m, n, k, this.scratch, this.scratchStride, COUNTER_BYTES],
      nth,
    );
  }

  linearQuant(
    xq: number,
    w: number,
    wFormat: WeightFormat,
    bias: number,
    out: number,
    m: number,
    n: number,
    k: number,
  ) {
    if (!isQuant(wFormat)) throw new Error(`linearQuant: weights must be q8 or q4, got format ${wFormat}`);
    if (k % 32 !== 0) throw new Error(`linearQuant: k = ${k} is not a multiple of 32`);
    if (m === 0 || n === 0) return;
    this.ensureScratch(k);
    Atomics.store(this.ctl, COUNTER, 0);
    const args = [xq, w, wFormat, bias, out, m, n, k, this.scratch, this.scratchStride, COUNTER_BYTES];
    // Few rows stream the weights (bandwidth-bound); more take the register-tiled kernel, which reuses each
    // weight vector for four rows and each weight panel for a pass of rows (compute-bound).
    if (m <= LINEAR_QUANT_STREAM_M) {
      const nth = this.par(
        n * k * bytesPer(wFormat) * Math.max(1, m / 4),
        GRAIN.weightBytes,
        Math.ceil(n / 4),
      );
      this.run("linearQuant", args, nth);
    } else {
      this.run(
        "linearQuantGemm",
        args,
        this.par(2 * m * n * k, GRAIN.flops, Math.ceil(n / 64) * Math.ceil(m / 4)),
      );
    }
  }

  repackQ4(src: number, dst: number, n: number, k: number, inverse = false): boolean {
    if (k % 32 !== 0) throw new Error(`repackQ4: k = ${k} is not a multiple of 32`);
    if (n === 0) return true;
    this.ensureScratch(k);
    const flags = this.ensureStats(4);
    new Int32Array(this.heap.buffer, flags, 1)[0] = 0;
    const nth = this.par(n * (k / 32) * 18, 4 * GRAIN.elements, Math.max(1, n >> 2));
    const args = [src, dst, n, k, inverse ? 1 : 0, flags, this.scratch, this.scratchStride];
    this.run("repackQ4", args, nth);
    if (inverse || new Int32Array(this.heap.buffer, flags, 1)[0] === 0) return true;
    this.run("repackQ4", [dst, dst, n, k, 1, flags, this.scratch, this.scratchStride], nth);
    return false;
  }

  dispose(): void {
    this.pool.dispose();
  }
}

/** q4x4 (rows repacked in fours) feeds only linearQuant and repackQ4. */
function notRepacked(op: string, ...formats: WeightFormat[]): void {
  if (formats.includes(WeightFormat.q4x4))
    throw new Error(`${op}: q4x4 weights feed only linearQuant; repack them to q4 first (Backend.repackQ4)`);
}

function isQuant(f: WeightFormat): boolean {
  return f === WeightFormat.q8 || f === WeightFormat.q4 || f === WeightFormat.q4x4;
}

function bytesPer(f: WeightFormat): number {
  return [4, 2, 2, 34 / 32, 18 / 32, 18 / 32][f]!;
}
