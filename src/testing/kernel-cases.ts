/**
 * The shared kernel test cases: each case fills random inputs (awkward sizes: not multiples of the SIMD width or
 * block, length-1 dims, long rows), runs one Backend kernel and names the outputs to compare. The same cases
 * run on every backend against `js`, and on `wasm` with different thread counts (which must agree bit for bit).
 */
import type { Backend } from "../backend/backend.js";
import { Activation, WeightFormat } from "../backend/backend.js";
import { rowBytes } from "../backend/js/arrays.js";
import { Rng } from "../util/random.js";

type Input =
  | { kind: "f32"; data: Float32Array }
  | { kind: "i32"; data: Int32Array }
  | { kind: "bytes"; data: Uint8Array };

export interface KernelCase {
  name: string;
  /** Max |a − b| / max |ref| allowed against js; 0 means bit-exact. */
  tol: number;
  inputs: Record<string, Input>;
  /** Outputs: name → byte length; initial contents random (tests accumulation) unless listed in `zeroed`. */
  outputs: Record<string, number>;
  /** How to read outputs for comparison: f32 (default) or raw bytes. */
  outputKinds?: Record<string, "f32" | "bytes">;
  run(b: Backend, p: Record<string, number>): unknown;
}

const f32 = (data: Float32Array): Input => ({ kind: "f32", data });

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

/** Weights of `rows`×`k` in `format`, generated from f32 values through the js reference conversions. */
export function encodeWeights(values: Float32Array, format: WeightFormat): Uint8Array {
  const out = new Uint8Array(rowBytes(format, values.length));
  // Deferred import cycle-free: the js convert kernel is the reference encoder.
  convertRef(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), out, format, values.length);
  return out;
}

let convertRef: (src: Uint8Array, dst: Uint8Array, format: WeightFormat, n: number) => void = () => {
  throw new Error("kernel-cases: call setConvertRef first");
};
export function setConvertRef(fn: typeof convertRef): void {
  convertRef = fn;
}

const FORMAT_NAMES = ["f32", "f16", "bf16", "q8", "q4", "q4x4"] as const;

/**
 * The same linearQuant case with the q4 weights repacked to q4x4 first (in place, as the loader does): on each
 * backend the result must match the js reference, whose q4x4 path reads the layout independently.
 */
function q4x4Twin(c: KernelCase, m: number, n: number, k: number, bias: boolean): KernelCase {
  return {
    ...c,
    name: c.name.replace(" q4 ", " q4x4 "),
    run: (b, p) => {
      if (!b.repackQ4(p.w!, p.w!, n, k)) throw new Error("repackQ4 refused finite scales");
      return b.linearQuant(p.xq!, p.w!, WeightFormat.q4x4, bias ? p.bias! : 0, p.out!, m, n, k);
    },
  };
}

export function kernelCases(seed = 1): KernelCase[] {
  const rng = new Rng(seed);
  const cases: KernelCase[] = [];

  for (const n of [1, 7, 33, 1000]) {
    const bn = n === 1000 ? 40 : n;
    cases.push({
      name: `fill n=${n}`,
      tol: 0,
      inputs: {},
      outputs: { out: n * 4 },
      run: (b, p) => b.fill(p.out!, n, 0.75),
    });
    cases.push({
      name: `add broadcast n=${n} bn=${bn}`,
      tol: 0,
      inputs: { a: f32(randn(rng, n)), b: f32(randn(rng, bn)) },
      outputs: { out: n * 4 },
      run: (b, p) => b.add(p.a!, p.b!, p.out!, n, bn),
    });
    cases.push({
      name: `mul broadcast n=${n} bn=${bn}`,
      tol: 0,
      inputs: { a: f32(randn(rng, n)), b: f32(randn(rng, bn)) },
      outputs: { out: n * 4 },
      run: (b, p) => b.mul(p.a!, p.b!, p.out!, n, bn),
    });
    cases.push({
      name: `scale n=${n}`,
      tol: 0,
      inputs: { a: f32(randn(rng, n)) },
      outputs: { out: n * 4 },
      run: (b, p) => b.scale(p.a!, p.out!, n, -1.25),
    });
    cases.push({
      name: `axpy n=${n}`,
      tol: 1e-7,
      inputs: { x: f32(randn(rng, n)) },
      outputs: { y: n * 4 },
      run: (b, p) => b.axpy(p.y!, p.x!, n, 0.3),
    });
    for (const fn of [Activation.geluErf, Activation.geluTanh, Activation.quickGelu, Activation.silu]) {
      const x = randn(rng, n, 3);
      if (n === 1000) x[0] = 30; // extreme inputs: saturation must not give NaN
      if (n === 1000) x[1] = -30;
      cases.push({
        name: `activation fn=${fn} n=${n}`,
        tol: 2e-6,
        inputs: { x: f32(x) },
        outputs: { out: n * 4 },
        run: (b, p) => b.activation(p.x!, p.out!, n, fn),
      });
      cases.push({
        name: `activationBackward fn=${fn} n=${n}`,
        tol: 2e-6,
        inputs: { x: f32(x), dy: f32(randn(rng, n)) },
        outputs: { dx: n * 4 },
        run: (b, p) => b.activationBackward(p.x!, p.dy!, p.dx!, n, fn),
      });
    }
    cases.push({
      name: `swiglu n=${n}`,
      tol: 2e-6,
      inputs: { g: f32(randn(rng, n, 3)), u: f32(randn(rng, n)) },
      outputs: { out: n * 4 },
      run: (b, p) => b.swiglu(p.g!, p.u!, p.out!, n),
    });
    cases.push({
      name: `swigluBackward n=${n}`,
      tol: 2e-6,
      inputs: { g: f32(randn(rng, n, 3)), u: f32(randn(rng, n)), dy: f32(randn(rng, n)) },
      outputs: { dg: n * 4, du: n * 4 },
      run: (b, p) => b.swigluBackward(p.g!, p.u!, p.dy!, p.dg!, p.du!, n),
    });
    cases.push({
      name: `sumSquares n=${n}`,
      tol: 1e-6,
      inputs: { x: f32(randn(rng, n)) },
      outputs: { s: 4 },
      run: (b, p) => {
        new Float32Array(b.heap.buffer, p.s!, 1)[0] = b.sumSquares(p.x!, n);
      },
    });
  }

  for (const [rows, cols] of [
    [1, 1],
    [3, 5],
    [17, 33],
    [2, 2560],
    [40, 130],
  ] as const) {
    const n = rows * cols;
    const x = randn(rng, n, 2);
    for (let i = 0; i < n; i++) x[i] = x[i]! + 0.5; // non-zero mean
    const w = randn(rng, cols);
    const bias = randn(rng, cols);
    const dy = randn(rng, n);
    const tag = `${rows}x${cols}`;
    cases.push({
      name: `sumRows ${tag}`,
      tol: 1e-6,
      inputs: { x: f32(x) },
      outputs: { out: cols * 4 },
      run: (b, p) => b.sumRows(p.x!, p.out!, rows, cols),
    });
    cases.push({
      name: `rowSums ${tag}`,
      tol: 1e-6,
      inputs: { x: f32(x) },
      outputs: { out: rows * 4 },
      run: (b, p) => b.rowSums(p.x!, p.out!, rows, cols),
    });
    cases.push({
      name: `layerNorm ${tag}`,
      tol: 2e-6,
      inputs: { x: f32(x), w: f32(w), b: f32(bias) },
      outputs: { out: n * 4 },
      run: (b, p) => b.layerNorm(p.x!, p.w!, p.b!, p.out!, rows, cols, 1e-5),
    });
    cases.push({
      name: `layerNorm no affine ${tag}`,
      tol: 2e-6,
      inputs: { x: f32(x) },
      outputs: { out: n * 4 },
      run: (b, p) => b.layerNorm(p.x!, 0, 0, p.out!, rows, cols, 1e-6),
    });
    cases.push({
      name: `layerNormBackward ${tag}`,
      tol: 1e-5,
      inputs: { x: f32(x), w: f32(w), dy: f32(dy) },
      outputs: { dx: n * 4, dw: cols * 4, db: cols * 4 },
      run: (b, p) => b.layerNormBackward(p.x!, p.w!, p.dy!, p.dx!, p.dw!, p.db!, rows, cols, 1e-5),
    });
    cases.push({
      name: `rmsNorm ${tag}`,
      tol: 2e-6,
      inputs: { x: f32(x), w: f32(w) },
      outputs: { out: n * 4 },
      run: (b, p) => b.rmsNorm(p.x!, p.w!, p.out!, rows, cols, 1e-6),
    });
    cases.push({
      name: `rmsNormBackward ${tag}`,
      tol: 1e-5,
      inputs: { x: f32(x), w: f32(w), dy: f32(dy) },
      outputs: { dx: n * 4, dw: cols * 4 },
      run: (b, p) => b.rmsNormBackward(p.x!, p.w!, p.dy!, p.dx!, p.dw!, rows, cols, 1e-6),
    });
    const logits = randn(rng, n, 4);
    for (const [causalT, past] of [
      [0, 0],
      [rows, Math.max(0, cols - rows)],
    ] as const) {
      cases.push({
        name: `softmax ${tag} causalT=${causalT} past=${past}`,
        tol: 1e-6,
        inputs: { x: f32(logits) },
        outputs: { out: n * 4 },
        run: (b, p) => b.softmax(p.x!, p.out!, rows, cols, causalT, past),
      });
    }
    const probs = new Float32Array(n);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += probs[r * cols + c] = Math.exp(logits[r * cols + c]! / 4);
      for (let c = 0; c < cols; c++) probs[r * cols + c]! /= s;
    }
    cases.push({
      name: `softmaxBackward ${tag}`,
      tol: 1e-6,
      inputs: { y: f32(probs), dy: f32(dy) },
      outputs: { dx: n * 4 },
      run: (b, p) => b.softmaxBackward(p.y!, p.dy!, p.dx!, rows, cols),
    });
    const targets = new Int32Array(rows);
    for (let r = 0; r < rows; r++) targets[r] = r % 3 === 2 ? -100 : rng.int(cols);
    cases.push({
      name: `crossEntropy ${tag}`,
      tol: 1e-6,
      inputs: { logits: f32(logits), t: { kind: "i32", data: targets } },
      outputs: { loss: rows * 4 },
      run: (b, p) => b.crossEntropy(p.logits!, p.t!, p.loss!, rows, cols, -100),
    });
    cases.push({
      name: `crossEntropyBackward ${tag}`,
      tol: 1e-6,
      inputs: { logits: f32(logits), t: { kind: "i32", data: targets } },
      outputs: { d: n * 4 },
      run: (b, p) => b.crossEntropyBackward(p.logits!, p.t!, p.d!, rows, cols, -100, 0.125),
    });
  }

  for (const [t, heads, headDim, rotDim] of [
    [1, 1, 2, 2],
    [5, 3, 16, 6],
    [7, 2, 80, 32],
    [3, 4, 64, 64],
  ] as const) {
    const n = t * heads * headDim;
    const half = rotDim / 2;
    const cos = new Float32Array(t * half);
    const sin = new Float32Array(t * half);
    for (let i = 0; i < t * half; i++) {
      const a = rng.uniform(-10, 10);
      cos[i] = Math.cos(a);
      sin[i] = Math.sin(a);
    }
    for (const inverse of [false, true]) {
      cases.push({
        name: `rope t=${t} heads=${heads} d=${headDim} rot=${rotDim} inverse=${inverse}`,
        tol: 1e-6,
        inputs: { x: f32(randn(rng, n)), cos: f32(cos), sin: f32(sin) },
        outputs: { out: n * 4 },
        run: (b, p) => b.rope(p.x!, p.out!, p.cos!, p.sin!, t, heads, headDim, rotDim, inverse),
      });
    }
  }

  // Decode attention: one row, several rows, GQA groups, head widths off the SIMD width, contexts across the
  // online softmax's 32-key blocks (scores scaled up so the running max moves between blocks).
  for (const [t, s, heads, kvHeads, d] of [
    [1, 1, 1, 1, 3],
    [1, 37, 4, 2, 16],
    [3, 70, 6, 2, 20],
    [1, 100, 3, 3, 80],
    [2, 129, 8, 1, 9],
  ] as const) {
    const kvDim = kvHeads * d;
    const q = randn(rng, t * heads * d, 2);
    const kv = [randn(rng, s * kvDim), randn(rng, s * kvDim)];
    for (let j = 0; j < s; j++) kv[0]![j * kvDim] = j * 0.15; // later keys score higher: the max grows
    for (const format of [WeightFormat.f32, WeightFormat.f16]) {
      const [k, v] = kv.map((x) => encodeWeights(x, format));
      cases.push({
        name: `decodeAttention ${FORMAT_NAMES[format]} t=${t} s=${s} heads=${heads}/${kvHeads} d=${d}`,
        tol: 2e-6,
        inputs: { q: f32(q), k: { kind: "bytes", data: k! }, v: { kind: "bytes", data: v! } },
        outputs: { out: t * heads * d * 4 },
        run: (b, p) =>
          b.decodeAttention(p.q!, p.k!, p.v!, format, p.out!, t, s, heads, kvHeads, d, 1 / Math.sqrt(d)),
      });
    }
  }

  for (const format of [
    WeightFormat.f32,
    WeightFormat.f16,
    WeightFormat.bf16,
    WeightFormat.q8,
    WeightFormat.q4,
  ]) {
    const quant = format === WeightFormat.q8 || format === WeightFormat.q4;
    const dim = quant ? 96 : 37;
    const rows = 11;
    const table = encodeWeights(randn(rng, rows * dim), format);
    const ids = new Int32Array([3, 0, 10, 3, 7]);
    cases.push({
      name: `embedding ${FORMAT_NAMES[format]}`,
      tol: 0,
      inputs: { ids: { kind: "i32", data: ids }, table: { kind: "bytes", data: table } },
      outputs: { out: ids.length * dim * 4 },
      run: (b, p) => b.embedding(p.ids!, p.table!, format, p.out!, ids.length, dim),
    });
    const n = quant ? 32 * 37 : 1001;
    const values = randn(rng, n, 3);
    values[5] = 0;
    values[6] = -0;
    values[7] = 1e-8;
    values[8] = 70000; // beyond f16: becomes Inf in f16, stays finite in bf16
    if (quant) values.fill(0, 64, 96); // an all-zero block (scale 0)
    if (format !== WeightFormat.f32) {
      cases.push({
        name: `convert f32→${FORMAT_NAMES[format]} n=${n}`,
        tol: 0,
        inputs: { x: f32(values) },
        outputs: { out: rowBytes(format, n) },
        outputKinds: { out: "bytes" },
        run: (b, p) => b.convert(p.x!, WeightFormat.f32, p.out!, format, n),
      });
      cases.push({
        name: `convert ${FORMAT_NAMES[format]}→f32 n=${n}`,
        tol: 0,
        inputs: { x: { kind: "bytes", data: encodeWeights(values, format) } },
        outputs: { out: n * 4 },
        run: (b, p) => b.convert(p.x!, format, p.out!, WeightFormat.f32, n),
      });
    }
  }
  cases.push({
    name: "embeddingBackward (repeated ids)",
    tol: 1e-7,
    inputs: { ids: { kind: "i32", data: new Int32Array([2, 0, 2, 5, 2]) }, dy: f32(randn(rng, 5 * 19)) },
    outputs: { dt: 6 * 19 * 4 },
    run: (b, p) => b.embeddingBackward(p.ids!, p.dy!, p.dt!, 5, 19),
  });

  for (const [c, h, w, patch] of [
    [3, 56, 56, 14],
    [3, 45, 31, 7],
    [1, 5, 5, 2],
  ] as const) {
    const gh = Math.floor(h / patch);
    const gw = Math.floor(w / patch);
    cases.push({
      name: `patchify ${c}x${h}x${w}/${patch}`,
      tol: 0,
      inputs: { img: f32(randn(rng, c * h * w)) },
      outputs: { out: gh * gw * c * patch * patch * 4 },
      run: (b, p) => b.patchify(p.img!, p.out!, c, h, w, patch),
    });
  }

  const strided = [
    { shape: [3, 4], strides: [1, 3], bytes: 4 },
    { shape: [2, 3, 5], strides: [15, 1, 3], bytes: 4 },
    { shape: [2, 1, 3, 7], strides: [21, 0, 7, 1], bytes: 2 },
    { shape: [5, 9], strides: [20, 2], bytes: 1 },
  ];
  for (const s of strided) {
    let span = 1;
    for (let i = 0; i < s.shape.length; i++) span += (s.shape[i]! - 1) * s.strides[i]!;
    const n = s.shape.reduce((a, x) => a * x, 1);
    const src = new Uint8Array(span * s.bytes);
    for (let i = 0; i < src.length; i++) src[i] = rng.int(256);
    cases.push({
      name: `copyStrided [${s.shape}] strides [${s.strides}] ${s.bytes}B`,
      tol: 0,
      inputs: { src: { kind: "bytes", data: src } },
      outputs: { dst: n * s.bytes },
      outputKinds: { dst: "bytes" },
      run: (b, p) => b.copyStrided(p.src!, p.dst!, s.bytes, s.shape, s.strides),
    });
  }

  // Matrix products: awkward m, n, k; every weight format; transposes; batches with grouped B (GQA).
  for (const format of [
    WeightFormat.f32,
    WeightFormat.f16,
    WeightFormat.bf16,
    WeightFormat.q8,
    WeightFormat.q4,
  ]) {
    const quant = format === WeightFormat.q8 || format === WeightFormat.q4;
    for (const [m, n, k] of [
      [1, 1, 32],
      [1, 37, 96],
      [2, 67, 160],
      [5, 17, 32],
      [13, 45, 128],
      [70, 33, 320],
      [1, 256, 1024],
    ] as const) {
      const x = randn(rng, m * k);
      const w = encodeWeights(randn(rng, n * k, 0.2), format);
      const bias = randn(rng, n);
      const tag = `${FORMAT_NAMES[format]} m=${m} n=${n} k=${k}`;
      cases.push({
        name: `gemm transB ${tag}`,
        tol: 1e-5,
        inputs: { x: f32(x), w: { kind: "bytes", data: w }, bias: f32(bias) },
        outputs: { out: m * n * 4 },
        run: (b, p) =>
          b.gemm({
            a: p.x!,
            b: p.w!,
            c: p.out!,
            bias: p.bias!,
            bFormat: format,
            batch: 1,
            m,
            n,
            k,
            transA: false,
            transB: true,
            lda: k,
            ldb: k,
            ldc: n,
            strideA: 0,
            strideB: 0,
            strideC: 0,
            bGroup: 1,
            alpha: 1,
            accumulate: false,
          }),
      });
      if (quant) {
        // Few rows stream the weights; more (m > 4) take the register-tiled kernel, with partial tiles here.
        const xq = encodeWeights(x, WeightFormat.q8);
        const c: KernelCase = {
          name: `linearQuant ${tag}`,
          tol: 1e-5,
          inputs: { xq: { kind: "bytes", data: xq }, w: { kind: "bytes", data: w }, bias: f32(bias) },
          outputs: { out: m * n * 4 },
          run: (b, p) => b.linearQuant(p.xq!, p.w!, format, p.bias!, p.out!, m, n, k),
        };
        cases.push(c);
        if (format === WeightFormat.q4) cases.push(q4x4Twin(c, m, n, k, true));
      } else if (m <= 5) {
        cases.push({
          name: `linearDot ${tag}`,
          tol: 1e-5,
          inputs: { x: f32(x), w: { kind: "bytes", data: w }, bias: f32(bias) },
          outputs: { out: m * n * 4 },
          run: (b, p) => b.linearDot(p.x!, p.w!, format, p.bias!, p.out!, m, n, k),
        });
        cases.push({
          name: `linearDot no bias ${tag}`,
          tol: 1e-5,
          inputs: { x: f32(x), w: { kind: "bytes", data: w } },
          outputs: { out: m * n * 4 },
          run: (b, p) => b.linearDot(p.x!, p.w!, format, 0, p.out!, m, n, k),
        });
      }
    }
  }
  // The tiled integer kernel with long rows (fewer activation rows per pass: several passes) and more weight
  // rows than one work item, without bias.
  for (const format of [WeightFormat.q8, WeightFormat.q4]) {
    const [m, n, k] = [45, 70, 6144];
    const w = encodeWeights(randn(rng, n * k, 0.2), format);
    const xq = encodeWeights(randn(rng, m * k), WeightFormat.q8);
    const c: KernelCase = {
      name: `linearQuant no bias ${FORMAT_NAMES[format]} m=${m} n=${n} k=${k}`,
      tol: 1e-5,
      inputs: { xq: { kind: "bytes", data: xq }, w: { kind: "bytes", data: w } },
      outputs: { out: m * n * 4 },
      run: (b, p) => b.linearQuant(p.xq!, p.w!, format, 0, p.out!, m, n, k),
    };
    cases.push(c);
    if (format === WeightFormat.q4) cases.push(q4x4Twin(c, m, n, k, false));
  }
  // Extremes of the integer dot products: q4 nibbles 0 and 15 and q8 quants ±127 against activations ±127
  // (the largest i16 pair sums of the relaxed i8×i7 path), and enough rows that each thread walks long streams.
  for (const [format, m] of [
    [WeightFormat.q8, 2],
    [WeightFormat.q4, 2],
    [WeightFormat.q8, 9],
    [WeightFormat.q4, 9],
  ] as const) {
    const k = 128;
    const n = 13;
    const blockBytes = format === WeightFormat.q8 ? 34 : 18;
    const w = new Uint8Array(n * (k / 32) * blockBytes);
    for (let b = 0; b < w.length / blockBytes; b++) {
      const o = b * blockBytes;
      w[o] = 0x00; // f16 scale 2^-k: 0x3c00 = 1, 0x2c00 = 1/16; alternate the sign too
      w[o + 1] = b % 3 === 0 ? 0x3c : b % 3 === 1 ? 0xac : 0x2c;
      for (let j = 2; j < blockBytes; j++) {
        const pick = (b * 7 + j) % 4;
        w[o + j] =
          format === WeightFormat.q8 ? [0x7f, 0x81, 0x00, 0x7f][pick]! : [0xff, 0x00, 0xf0, 0x0f][pick]!;
      }
    }
    const xq = new Uint8Array(m * (k / 32) * 34);
    for (let b = 0; b < xq.length / 34; b++) {
      const o = b * 34;
      xq[o] = 0x00;
      xq[o + 1] = b % 2 ? 0x3c : 0xbc;
      for (let j = 2; j < 34; j++) xq[o + j] = [0x7f, 0x81, 0x7f, 0x7f, 0x81][(b + j) % 5]!;
    }
    const tag = `${FORMAT_NAMES[format]} extremes m=${m} n=${n} k=${k}`;
    const c: KernelCase = {
      name: `linearQuant ${tag}`,
      tol: 1e-6,
      inputs: { xq: { kind: "bytes", data: xq }, w: { kind: "bytes", data: w } },
      outputs: { out: m * n * 4 },
      run: (b, p) => b.linearQuant(p.xq!, p.w!, format, 0, p.out!, m, n, k),
    };
    cases.push(c);
    if (format === WeightFormat.q4) cases.push(q4x4Twin(c, m, n, k, false));
  }
  for (const format of [WeightFormat.f16, WeightFormat.bf16, WeightFormat.q8, WeightFormat.q4]) {
    const [m, n, k] = [1, 515, 256];
    const x = randn(rng, m * k);
    const w = encodeWeights(randn(rng, n * k, 0.2), format);
    const bias = randn(rng, n);
    const quant = format === WeightFormat.q8 || format === WeightFormat.q4;
    const tag = `${FORMAT_NAMES[format]} m=${m} n=${n} k=${k}`;
    cases.push(
      quant
        ? {
            name: `linearQuant long ${tag}`,
            tol: 1e-5,
            inputs: {
              xq: { kind: "bytes", data: encodeWeights(x, WeightFormat.q8) },
              w: { kind: "bytes", data: w },
              bias: f32(bias),
            },
            outputs: { out: m * n * 4 },
            run: (b, p) => b.linearQuant(p.xq!, p.w!, format, p.bias!, p.out!, m, n, k),
          }
        : {
            name: `linearDot long ${tag}`,
            tol: 1e-5,
            inputs: { x: f32(x), w: { kind: "bytes", data: w }, bias: f32(bias) },
            outputs: { out: m * n * 4 },
            run: (b, p) => b.linearDot(p.x!, p.w!, format, p.bias!, p.out!, m, n, k),
          },
    );
    if (format === WeightFormat.q4) cases.push(q4x4Twin(cases[cases.length - 1]!, m, n, k, true));
  }
  // q4 → q4x4 bytes (bit-exact against the js layout, rows not a multiple of 4 included), and back.
  for (const [n, k] of [
    [1, 32],
    [7, 64],
    [13, 96],
    [70, 320],
  ] as const) {
    const w = encodeWeights(randn(rng, n * k, 0.2), WeightFormat.q4);
    cases.push({
      name: `repackQ4 n=${n} k=${k}`,
      tol: 0,
      inputs: { w: { kind: "bytes", data: w } },
      outputs: { out: w.length },
      outputKinds: { out: "bytes" },
      run: (b, p) => b.repackQ4(p.w!, p.out!, n, k),
    });
    cases.push({
      name: `repackQ4 inverse in place n=${n} k=${k}`,
      tol: 0,
      inputs: { w: { kind: "bytes", data: w } },
      outputs: { out: w.length },
      outputKinds: { out: "bytes" },
      run: (b, p) => {
        b.repackQ4(p.w!, p.out!, n, k);
        b.repackQ4(p.out!, p.out!, n, k, true);
      },
    });
  }
  // k = 0: nothing to sum; C keeps (accumulate) or drops its values, plus the bias.
  for (const m of [1, 6]) {
    const n = 5;
    cases.push({
      name: `gemm k=0 m=${m} n=${n} accumulate + bias`,
      tol: 0,
      inputs: { a: f32(new Float32Array(1)), b: f32(new Float32Array(1)), bias: f32(randn(rng, n)) },
      outputs: { c: m * n * 4 },
      run: (b, p) =>
        b.gemm({
          a: p.a!,
          b: p.b!,
          c: p.c!,
          bias: p.bias!,
          bFormat: WeightFormat.f32,
          batch: 1,
          m,
          n,
          k: 0,
          transA: false,
          transB: true,
          lda: 1,
          ldb: 1,
          ldc: n,
          strideA: 0,
          strideB: 0,
          strideC: 0,
          bGroup: 1,
          alpha: 1,
          accumulate: true,
        }),
    });
  }
  // Batched products with half-precision B (attention over an f16 KV cache), both paths (few rows and packed).
  for (const format of [WeightFormat.f16, WeightFormat.bf16])
    for (const [m, transB] of [
      [1, true],
      [2, false],
      [9, true],
      [9, false],
    ] as const) {
      const [batch, bGroup, n, k] = [4, 2, 21, 40];
      const bRows = transB ? n : k;
      const ldb = transB ? k : n;
      const strideB = bRows * ldb;
      const b16 = encodeWeights(randn(rng, (batch / bGroup) * strideB), format);
      cases.push({
        name: `gemm batched ${FORMAT_NAMES[format]} B m=${m} n=${n} k=${k} transB=${transB}`,
        tol: 1e-5,
        inputs: { a: f32(randn(rng, batch * m * k)), b: { kind: "bytes", data: b16 } },
        outputs: { c: batch * m * n * 4 },
        run: (b, p) =>
          b.gemm({
            a: p.a!,
            b: p.b!,
            c: p.c!,
            bias: 0,
            bFormat: format,
            batch,
            m,
            n,
            k,
            transA: false,
            transB,
            lda: k,
            ldb,
            ldc: n,
            strideA: m * k,
            strideB,
            strideC: m * n,
            bGroup,
            alpha: 0.5,
            accumulate: false,
          }),
      });
    }
  for (const [m, n, k] of [
    [1, 1, 1],
    [3, 5, 7],
    [33, 19, 65],
    [100, 130, 67],
  ] as const) {
    for (const transA of [false, true])
      for (const transB of [false, true]) {
        const batch = 4;
        const bGroup = 2;
        const lda = (transA ? m : k) + 3;
        const ldb = (transB ? k : n) + 1;
        const ldc = n + 2;
        const aRows = transA ? k : m;
        const bRows = transB ? n : k;
        const strideA = aRows * lda;
        const strideB = bRows * ldb;
        const strideC = m * ldc;
        cases.push({
          name: `gemm batched f32 m=${m} n=${n} k=${k} transA=${transA} transB=${transB} accumulate`,
          tol: 1e-5,
          inputs: { a: f32(randn(rng, batch * strideA)), b: f32(randn(rng, (batch / bGroup) * strideB)) },
          outputs: { c: batch * strideC * 4 },
          run: (b, p) =>
            b.gemm({
              a: p.a!,
              b: p.b!,
              c: p.c!,
              bias: 0,
              bFormat: WeightFormat.f32,
              batch,
              m,
              n,
              k,
              transA,
              transB,
              lda,
              ldb,
              ldc,
              strideA,
              strideB,
              strideC,
              bGroup,
              alpha: 0.7,
              accumulate: true,
            }),
        });
      }
  }
  return cases;
}
