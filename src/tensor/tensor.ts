/**
 * Tensors: a shape, element strides and an offset over a storage block in a backend's heap. Views (reshape,
 * transpose, slice) share storage; kernels take contiguous operands, so `contiguous()` copies when needed.
 * Quantized tensors (q8/q4) are 2-D [rows, k] weights, contiguous, and can only be sliced by whole rows.
 */
import type { Backend } from "../backend/backend.js";
import { WeightFormat } from "../backend/backend.js";
import type { DenseDType, DType } from "../formats/dtype.js";
import { byteSize, elementBytes, isQuantized, numel } from "../formats/dtype.js";
import { ShapeError } from "../util/errors.js";
import { record } from "./autograd.js";
import { track } from "./scope.js";

/** A block of backend memory shared by a tensor and its views; freed when the last of them is disposed. */
export class Storage {
  refs = 0;
  freed = false;
  constructor(
    readonly backend: Backend,
    readonly ptr: number,
    readonly bytes: number,
  ) {}

  release(): void {
    if (--this.refs === 0 && !this.freed) {
      this.freed = true;
      registry.unregister(this);
      this.backend.heap.release(this.ptr);
    }
  }
}

// Backstop: storage whose tensors were garbage collected without dispose() is still returned to the heap
// (release() unregisters, so this runs only for storage never released). No WeakRef in the held value: each
// `new WeakRef` keeps its target alive until the current job ends, and a long synchronous training loop made
// millions of them, until V8 aborted ("Check failed: (location_) != nullptr" in JSWeakRefAddToKeptObjects).
const registry = new FinalizationRegistry<{ backend: Backend; ptr: number }>((h) =>
  h.backend.heap.release(h.ptr),
);

export function contiguousStrides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i]!;
  }
  return st;
}

export function formatOf(dtype: DType): WeightFormat {
  switch (dtype) {
    case "f32":
      return WeightFormat.f32;
    case "f16":
      return WeightFormat.f16;
    case "bf16":
      return WeightFormat.bf16;
    case "q8":
      return WeightFormat.q8;
    case "q4":
      return WeightFormat.q4;
    case "q4x4":
      return WeightFormat.q4x4;
    default:
      throw new ShapeError(`dtype ${dtype} is not a weight format`);
  }
}

export class Tensor {
  private disposed = false;
  /** Autodiff: set on trainable parameters; ops set it on outputs that depend on such a tensor. */
  requiresGrad = false;
  /** Autodiff: false for outputs recorded on a tape. */
  isLeaf = true;
  /** Autodiff: a leaf's accumulated gradient (f32, same shape). */
  grad: Tensor | null = null;

  constructor(
    readonly storage: Storage,
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly strides: readonly number[] = contiguousStrides(shape),
    readonly offset = 0,
  ) {
    storage.refs++;
    track(this);
  }

  get backend(): Backend {
    return this.storage.backend;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return numel(this.shape);
  }
  /** Byte address of the first element in the backend heap. */
  get ptr(): number {
    if (this.disposed) throw new Error("use of a disposed tensor");
    return this.storage.ptr + byteSize(this.dtype, this.offset);
  }
  get byteLength(): number {
    return byteSize(this.dtype, this.numel);
  }
  get isContiguous(): boolean {
    const c = contiguousStrides(this.shape);
    for (let i = 0; i < this.shape.length; i++)
      if (this.shape[i] !== 1 && this.strides[i] !== c[i]) return false;
    return true;
  }
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Size of dimension d (negative counts from the end). */
  dim(d: number): number {
    return this.shape[d < 0 ? this.shape.length + d : d]!;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.grad?.dispose();
    this.grad = null;
    this.storage.release();
  }

  /** Same data, new shape (one entry may be −1). A view when contiguous, else a copy. */
  reshape(shape: readonly number[]): Tensor {
    const known = shape.reduce((a, s) => (s === -1 ? a : a * s), 1);
    const resolved = shape.map((s) => (s === -1 ? this.numel / known : s));
    if (numel(resolved) !== this.numel || resolved.some((s) => !Number.isInteger(s) || s < 0))
      throw new ShapeError(`cannot reshape [${this.shape}] (${this.numel} elements) to [${shape}]`);
    const src = this.isContiguous ? this : this.contiguous();
    if (isQuantized(this.dtype) && resolved[resolved.length - 1] !== this.shape[this.shape.length - 1])
      throw new ShapeError(
        `a ${this.dtype} tensor keeps its rows: cannot reshape [${this.shape}] to [${shape}]`,
      );
    const out = new Tensor(src.storage, this.dtype, resolved, contiguousStrides(resolved), src.offset);
    if (src !== this) src.dispose();
    record(out, [this], [], (g, tape) => tape.accumulate(this, g.reshape(this.shape)));
    return out;
  }

  /** Swaps two dimensions (a view). */
  transpose(d0: number, d1: number): Tensor {
    if (isQuantized(this.dtype)) throw new ShapeError(`cannot transpose a ${this.dtype} tensor`);
    const n = this.ndim;
    const a = d0 < 0 ? n + d0 : d0;
    const b = d1 < 0 ? n + d1 : d1;
    const shape = [...this.shape];
    const strides = [...this.strides];
    [shape[a], shape[b]] = [shape[b]!, shape[a]!];
    [strides[a], strides[b]] = [strides[b]!, strides[a]!];
    const out = new Tensor(this.storage, this.dtype, shape, strides, this.offset);
    record(out, [this], [], (g, tape) => {
      const t = g.transpose(a, b);
      tape.accumulate(this, t.contiguous());
      t.dispose();
    });
    return out;
  }

  /** Elements [start, end) along dimension d (a view). */
  slice(d: number, start: number, end: number): Tensor {
    const dd = d < 0 ? this.ndim + d : d;
    const size = this.shape[dd]!;
    if (!(start >= 0 && end <= size && start <= end))
      throw new ShapeError(`slice [${start}, ${end}) out of range for dimension ${dd} of size ${size}`);
    if (isQuantized(this.dtype) && dd !== 0)
      throw new ShapeError(`a ${this.dtype} tensor can only be sliced by rows`);
    // q4x4 interleaves rows in fours, the last n mod 4 apart: only the whole tensor is a valid view.
    if (this.dtype === "q4x4" && end - start !== size)
      throw new ShapeError("a q4x4 tensor (rows repacked in fours) cannot be sliced; cast it to q4 first");
    const shape = [...this.shape];
    shape[dd] = end - start;
    const out = new Tensor(
      this.storage,
      this.dtype,
      shape,
      this.strides,
      this.offset + start * this.strides[dd]!,
    );
    record(out, [this], [], (g, tape) => {
      if (dd !== 0) throw new ShapeError("autodiff: only slices of the first dimension are differentiable");
      const z = zeros(this.backend, this.shape);
      const rows = z.reshape([this.shape[0]!, -1]);
      writeRows(rows, start, g.reshape([end - start, -1]));
      rows.dispose();
      tape.accumulate(this, z);
    });
    return out;
  }

  /** This tensor if contiguous, else a contiguous copy. */
  contiguous(): Tensor {
    if (this.isContiguous) {
      const view = new Tensor(this.storage, this.dtype, this.shape, this.strides, this.offset);
      record(view, [this], [], (g, tape) => tape.accumulate(this, g.reshape(this.shape)));
      return view;
    }
    if (isQuantized(this.dtype)) throw new ShapeError("quantized tensors are always contiguous");
    const out = empty(this.backend, this.dtype, this.shape);
    const { shape, strides } = mergeDims(this.shape, this.strides);
    if (shape.length > 4)
      throw new ShapeError(`cannot copy a view with ${shape.length} non-mergeable dimensions`);
    const eb = elementBytes(this.dtype as DenseDType);
    this.backend.copyStrided(this.storage.ptr + this.offset * eb, out.ptr, eb, shape, strides);
    record(out, [this], [], (g, tape) => tape.accumulate(this, g.reshape(this.shape)));
    return out;
  }

  /** A copy of the values as f32 (dequantized or widened as needed). */
  toF32(): Float32Array {
    const b = this.backend;
    if (this.dtype === "i32" || this.dtype === "i64") return Float32Array.from(this.toInts());
    const src = this.contiguous();
    try {
      if (this.dtype === "f32") return new Float32Array(b.heap.buffer, src.ptr, this.numel).slice();
      const tmp = b.heap.alloc(this.numel * 4);
      // q4x4 is read through a q4 copy (its rows are interleaved in fours).
      const q4 = this.dtype === "q4x4" ? b.heap.alloc(this.byteLength) : 0;
      try {
        if (q4) b.repackQ4(src.ptr, q4, this.numel / this.dim(-1), this.dim(-1), true);
        const fmt = q4 ? WeightFormat.q4 : formatOf(this.dtype);
        b.convert(q4 || src.ptr, fmt, tmp, WeightFormat.f32, this.numel);
        return new Float32Array(b.heap.buffer, tmp, this.numel).slice();
      } finally {
        b.heap.release(tmp);
        if (q4) b.heap.release(q4);
      }
    } finally {
      src.dispose();
    }
  }

  /** A copy of an integer tensor's values. */
  toInts(): number[] {
    const src = this.contiguous();
    try {
      if (this.dtype === "i32")
        return Array.from(new Int32Array(this.backend.heap.buffer, src.ptr, this.numel));
      if (this.dtype === "i64")
        return Array.from(
          new BigInt64Array(this.backend.heap.buffer as ArrayBuffer, src.ptr, this.numel),
          Number,
        );
      throw new ShapeError(`toInts on a ${this.dtype} tensor`);
    } finally {
      src.dispose();
    }
  }

  /** The raw bytes (a copy) of a contiguous tensor. */
  toBytes(): Uint8Array {
    const src = this.contiguous();
    try {
      return new Uint8Array(this.backend.heap.buffer, src.ptr, src.byteLength).slice();
    } finally {
      src.dispose();
    }
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(", ")}])`;
  }
}

/** Merges adjacent dimensions that are laid out contiguously, to fit strided copies into 4 dims. */
function mergeDims(
  shape: readonly number[],
  strides: readonly number[],
): { shape: number[]; strides: number[] } {
  const sh: number[] = [];
  const st: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = sh.length - 1;
    if (last >= 0 && st[last] === strides[i]! * shape[i]!) {
      sh[last] = sh[last]! * shape[i]!;
      st[last] = strides[i]!;
    } else {
      sh.push(shape[i]!);
      st.push(strides[i]!);
    }
  }
  if (sh.length === 0) return { shape: [1], strides: [1] };
  return { shape: sh, strides: st };
}

/** A new uninitialised tensor. */
export function empty(backend: Backend, dtype: DType, shape: readonly number[]): Tensor {
  const bytes = byteSize(dtype, numel(shape));
  const ptr = backend.heap.alloc(bytes);
  const storage = new Storage(backend, ptr, bytes);
  registry.register(storage, { backend, ptr }, storage);
  return new Tensor(storage, dtype, [...shape]);
}

export function zeros(backend: Backend, shape: readonly number[]): Tensor {
  const t = empty(backend, "f32", shape);
  backend.fill(t.ptr, t.numel, 0);
  return t;
}

export function full(backend: Backend, shape: readonly number[], value: number): Tensor {
  const t = empty(backend, "f32", shape);
  backend.fill(t.ptr, t.numel, value);
  return t;
}

/** Copies raw bytes into a new tensor of the given dtype and shape. */
export function fromBytes(
  backend: Backend,
  dtype: DType,
  shape: readonly number[],
  bytes: Uint8Array,
): Tensor {
  const t = empty(backend, dtype, shape);
  if (bytes.length !== t.byteLength)
    throw new ShapeError(
      `${bytes.length} bytes given for a ${dtype} tensor [${shape}] of ${t.byteLength} bytes`,
    );
  new Uint8Array(backend.heap.buffer, t.ptr, bytes.length).set(bytes);
  return t;
}

export function fromF32(
  backend: Backend,
  data: ArrayLike<number>,
  shape: readonly number[] = [data.length],
): Tensor {
  const t = empty(backend, "f32", shape);
  if (data.length !== t.numel) throw new ShapeError(`${data.length} values given for shape [${shape}]`);
  new Float32Array(backend.heap.buffer, t.ptr, t.numel).set(data);
  return t;
}

export function fromI32(
  backend: Backend,
  data: ArrayLike<number>,
  shape: readonly number[] = [data.length],
): Tensor {
  const t = empty(backend, "i32", shape);
  if (data.length !== t.numel) throw new ShapeError(`${data.length} values given for shape [${shape}]`);
  new Int32Array(backend.heap.buffer, t.ptr, t.numel).set(data);
  return t;
}

/** A live f32 view of a contiguous f32 tensor's memory (valid until the heap grows or the tensor is freed). */
export function viewF32(t: Tensor): Float32Array {
  if (t.dtype !== "f32" || !t.isContiguous)
    throw new ShapeError(`viewF32 needs a contiguous f32 tensor, got ${t}`);
  return new Float32Array(t.backend.heap.buffer, t.ptr, t.numel);
}

/** Writes src's rows into dst starting at row `row` (dst contiguous 2-D); a copy, not recorded on the tape. */
export function writeRows(dst: Tensor, row: number, src: Tensor): void {
  const cols = dst.dim(-1);
  if (!dst.isContiguous || src.dim(-1) !== cols || src.dtype !== dst.dtype)
    throw new ShapeError(`writeRows: [${src.shape}] ${src.dtype} into [${dst.shape}] ${dst.dtype}`);
  const rows = src.numel / cols;
  if (row < 0 || row + rows > dst.numel / cols)
    throw new ShapeError(`writeRows: rows ${row}..${row + rows} outside [${dst.shape}]`);
  const eb = elementBytes(dst.dtype as DenseDType);
  const sd = src.isContiguous ? src : src.contiguous();
  dst.backend.copyStrided(sd.ptr, dst.ptr + row * cols * eb, 1, [sd.byteLength], [1]);
  if (sd !== src) sd.dispose();
}
