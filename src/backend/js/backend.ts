/**
 * The `js` backend: the reference kernels in plain TypeScript over views of a (non-shared) WebAssembly.Memory
 * used as a growable heap. Single-threaded. Slow by design; it is the spec the `wasm` backend is tested against.
 */

import { repackQ4Ref } from "../../formats/blocks.js";
import type { Activation, Backend, GemmArgs } from "../backend.js";
import { WeightFormat } from "../backend.js";
import { Heap, MAX_PAGES } from "../heap.js";
import * as act from "./activations.js";
import type { WeightData } from "./arrays.js";
import { rowBytes } from "./arrays.js";
import { convert } from "./convert.js";
import { decodeAttention } from "./decode-attention.js";
import * as ew from "./elementwise.js";
import * as gather from "./gather.js";
import * as mm from "./matmul.js";
import * as norms from "./norms.js";
import * as reduce from "./reduce.js";
import { rope } from "./rope.js";
import * as sm from "./softmax.js";

export class JsBackend implements Backend {
  readonly name = "js" as const;
  readonly threads = 1;
  readonly heap: Heap;
  readonly features: readonly string[] = ["reference"];
  intProducts = true;

  constructor() {
    const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES });
    this.heap = new Heap(memory, 64);
  }

  private f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.heap.buffer, ptr, n);
  }
  private f32opt(ptr: number, n: number): Float32Array | null {
    return ptr === 0 ? null : this.f32(ptr, n);
  }
  private i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.heap.buffer, ptr, n);
  }
  private u8(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.heap.buffer, ptr, n);
  }
  private weights(ptr: number, format: WeightFormat, rows: number, k: number): WeightData {
    return { format, bytes: this.u8(ptr, rows * rowBytes(format, k)) };
  }

  fill(out: number, n: number, value: number): void {
    ew.fill(this.f32(out, n), n, value);
  }
  copyStrided(
    src: number,
    dst: number,
    elemBytes: number,
    shape: readonly number[],
    strides: readonly number[],
  ): void {
    const sh = [1, 1, 1, 1];
    const st = [0, 0, 0, 0];
    for (let i = 0; i < shape.length; i++) {
      sh[4 - shape.length + i] = shape[i]!;
      st[4 - shape.length + i] = strides[i]!;
    }
    let span = 1; // elements of src reachable
    for (let i = 0; i < 4; i++) span += (sh[i]! - 1) * st[i]!;
    const n = sh[0]! * sh[1]! * sh[2]! * sh[3]!;
    const View = { 1: Uint8Array, 2: Uint16Array, 4: Uint32Array, 8: BigUint64Array }[elemBytes];
    if (!View) throw new Error(`copyStrided: element size ${elemBytes}`);
    const s = new View(this.heap.buffer as ArrayBuffer, src, span);
    const d = new View(this.heap.buffer as ArrayBuffer, dst, n);
    ew.copyStrided(s as unknown as number[], d as unknown as number[], sh, st);
  }
  convert(src: number, srcFormat: WeightFormat, dst: number, dstFormat: WeightFormat, n: number): void {
    convert(
      this.u8(src, rowBytes(srcFormat, n)),
      srcFormat,
      this.u8(dst, rowBytes(dstFormat, n)),
      dstFormat,
      n,
    );
  }

  add(a: number, b: number, out: number, n: number, bn: number): void {
    ew.add(this.f32(a, n), this.f32(b, bn), this.f32(out, n), n, bn);
  }
  mul(a: number, b: number, out: number, n: number, bn: number): void {
    ew.mul(this.f32(a, n), this.f32(b, bn), this.f32(out, n), n, bn);
  }
  scale(a: number, out: number, n: number, s: number): void {
    ew.scale(this.f32(a, n), this.f32(out, n), n, s);
  }
  axpy(y: number, x: number, n: number, alpha: number): void {
    ew.axpy(this.f32(y, n), this.f32(x, n), n, alpha);
  }
  activation(x: number, out: number, n: number, fn: Activation): void {
    act.activation(this.f32(x, n), this.f32(out, n), n, fn);
  }
  activationBackward(x: number, dy: number, dx: number, n: number, fn: Activation): void {
    act.activationBackward(this.f32(x, n), this.f32(dy, n), this.f32(dx, n), n, fn);
  }
  swiglu(gate: number, up: number, out: number, n: number): void {
    act.swiglu(this.f32(gate, n), this.f32(up, n), this.f32(out, n), n);
  }
  swigluBackward(gate: number, up: number, dy: number, dgate: number, dup: number, n: number): void {
    act.swigluBackward(
      this.f32(gate, n),
      this.f32(up, n),
      this.f32(dy, n),
      this.f32(dgate, n),
      this.f32(dup, n),
      n,
    );
  }

  sumRows(x: number, out: number, rows: number, cols: number): void {
    reduce.sumRows(this.f32(x, rows * cols), this.f32(out, cols), rows, cols);
  }
  rowSums(x: number, out: number, rows: number, cols: number): void {
    reduce.rowSums(this.f32(x, rows * cols), this.f32(out, rows), rows, cols);
  }
  sumSquares(x: number, n: number): number {
    return reduce.sumSquares(this.f32(x, n), n);
  }

  layerNorm(x: number, w: number, b: number, out: number, rows: number, cols: number, eps: number): void {
    const n = rows * cols;
    norms.layerNorm(
      this.f32(x, n),
      this.f32opt(w, cols),
      this.f32opt(b, cols),
      this.f32(out, n),
      rows,
      cols,
      eps,
    );
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
    const n = rows * cols;
    norms.layerNormBackward(
      this.f32(x, n),
      this.f32opt(w, cols),
      this.f32(dy, n),
      this.f32(dx, n),
      this.f32opt(dw, cols),
      this.f32opt(db, cols),
      rows,
      cols,
      eps,
    );
  }
  rmsNorm(x: number, w: number, out: number, rows: number, cols: number, eps: number): void {
    const n = rows * cols;
    norms.rmsNorm(this.f32(x, n), this.f32opt(w, cols), this.f32(out, n), rows, cols, eps);
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
    const n = rows * cols;
    norms.rmsNormBackward(
      this.f32(x, n),
      this.f32opt(w, cols),
      this.f32(dy, n),
      this.f32(dx, n),
      this.f32opt(dw, cols),
      rows,
      cols,
      eps,
    );
  }

  softmax(x: number, out: number, rows: number, cols: number, causalT: number, pastLen: number): void {
    const n = rows * cols;
    sm.softmax(this.f32(x, n), this.f32(out, n), rows, cols, causalT, pastLen);
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
    const kvDim = kvHeads * headDim;
    decodeAttention(
      this.f32(q, t * heads * headDim),
      this.weights(k, kvFormat, s, kvDim),
      this.weights(v, kvFormat, s, kvDim),
      this.f32(out, t * heads * headDim),
      t,
      s,
      heads,
      kvHeads,
      headDim,
      scale,
    );
  }
  softmaxBackward(y: number, dy: number, dx: number, rows: number, cols: number): void {
    const n = rows * cols;
    sm.softmaxBackward(this.f32(y, n), this.f32(dy, n), this.f32(dx, n), rows, cols);
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
    const n = t * heads * headDim;
    const half = (t * rotDim) / 2;
    rope(
      this.f32(x, n),
      this.f32(out, n),
      this.f32(cos, half),
      this.f32(sin, half),
      t,
      heads,
      headDim,
      rotDim,
      inverse,
    );
  }
  crossEntropy(
    logits: number,
    targets: number,
    loss: number,
    rows: number,
    vocab: number,
    ignoreIndex: number,
  ): void {
    sm.crossEntropy(
      this.f32(logits, rows * vocab),
      this.i32(targets, rows),
      this.f32(loss, rows),
      rows,
      vocab,
      ignoreIndex,
    );
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
    sm.crossEntropyBackward(
      this.f32(logits, rows * vocab),
      this.i32(targets, rows),
      this.f32(dlogits, rows * vocab),
      rows,
      vocab,
      ignoreIndex,
      scale,
    );
  }

  embedding(
    ids: number,
    table: number,
    tableFormat: WeightFormat,
    out: number,
    n: number,
    dim: number,
  ): void {
    const idv = this.i32(ids, n);
    let rows = 0;
    for (let i = 0; i < n; i++) rows = Math.max(rows, idv[i]! + 1);
    gather.embedding(idv, this.weights(table, tableFormat, rows, dim), this.f32(out, n * dim), n, dim);
  }
  embeddingBackward(ids: number, dy: number, dtable: number, n: number, dim: number): void {
    const idv = this.i32(ids, n);
    let rows = 0;
    for (let i = 0; i < n; i++) rows = Math.max(rows, idv[i]! + 1);
    gather.embeddingBackward(idv, this.f32(dy, n * dim), this.f32(dtable, rows * dim), n, dim);
  }
  patchify(img: number, out: number, channels: number, height: number, width: number, patch: number): void {
    const gh = Math.floor(height / patch);
    const gw = Math.floor(width / patch);
    gather.patchify(
      this.f32(img, channels * height * width),
      this.f32(out, gh * gw * channels * patch * patch),
      channels,
      height,
      width,
      patch,
    );
  }

  gemm(args: GemmArgs): void {
    const { batch, m, n, k, transA, transB, lda, ldb, ldc, strideA, strideB, strideC, bGroup } = args;
    const aSpan = (batch - 1) * strideA + (transA ? (k - 1) * lda + m : (m - 1) * lda + k);
    const bBatches = Math.floor((batch - 1) / bGroup) + 1;
    const bSpan = (bBatches - 1) * strideB + (transB ? (n - 1) * ldb + k : (k - 1) * ldb + n);
    const cSpan = (batch - 1) * strideC + (m - 1) * ldc + n;
    const bData: WeightData =
      args.bFormat === WeightFormat.f32
        ? { format: 0, values: this.f32(args.b, bSpan) }
        : { format: args.bFormat, bytes: this.u8(args.b, rowBytes(args.bFormat, bSpan)) };
    mm.gemm(args, this.f32(args.a, aSpan), bData, this.f32(args.c, cSpan), this.f32opt(args.bias, n));
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
    mm.linearDot(
      this.f32(x, m * k),
      this.weights(w, wFormat, n, k),
      this.f32opt(bias, n),
      this.f32(out, m * n),
      m,
      n,
      k,
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
    mm.linearQuant(
      this.u8(xq, m * rowBytes(WeightFormat.q8, k)),
      this.u8(w, n * rowBytes(wFormat, k)),
      wFormat,
      this.f32opt(bias, n),
      this.f32(out, m * n),
      m,
      n,
      k,
    );
  }

  repackQ4(src: number, dst: number, n: number, k: number, inverse = false): boolean {
    const bytes = n * rowBytes(WeightFormat.q4, k);
    const d = this.u8(dst, bytes);
    if (repackQ4Ref(this.u8(src, bytes), d, n, k, inverse) === 0 || inverse) return true;
    repackQ4Ref(d, d, n, k, true);
    return false;
  }

  dispose(): void {}
}
