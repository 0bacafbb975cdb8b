/**
 * Kernel benchmark (npm run bench:kernels): the wasm backend's f32 GEMM at decode (1×2560×2560) and prefill
 * (512×2560×2560) shapes in GFLOP/s beside OpenBLAS through numpy, the prefill shape's products with q8 and q4
 * weights both ways linear() can take them (the integer GEMM on q8-quantized activations, and the f32 GEMM over
 * weights widened to f32) beside the same OpenBLAS sgemm, and its matrix-vector products with q8, q4, q4x4 (q4
 * repacked at load, what a loaded model runs) and f16 weights at real sizes in GB/s of weights streamed beside
 * the machine's read bandwidth, on 1 and 2 threads, all measured in this run. Decode-shaped products cycle through ≥ 256 MiB of weight copies so every
 * call streams from DRAM, as decoding a model does. The host is shared, so measurements are interleaved:
 * each round measures everything once (bandwidth, OpenBLAS, imp-ts), and each figure is the median over
 * rounds; imp-ts and its peer thus see the same conditions. Prints the table and writes it to
 * docs/benchmarks.md (the "Kernels" section).
 *
 * Usage: npm run bench:kernels -- [--quick] [--threads 1] [--no-write] [--no-install]
 * --quick: fewer rounds; --threads 1: one thread count only (1 or 2; while another job holds a core, 2-thread
 * figures mean little); --no-write: print only; --no-install: never apt-get numpy.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { WeightFormat } from "../src/backend/backend.js";
import { WasmBackend } from "../src/backend/wasm/backend.js";
import { helpFromHeader } from "./help.js";

helpFromHeader(import.meta.url);

const root = fileURLToPath(new URL("..", import.meta.url));
const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 7;
const REPS = 3; // repetitions inside a round (their median is the round's figure)
const COLD_BYTES = 256 * 2 ** 20; // weight copies cycled per repetition: ≫ the 32 MiB L3
const threadsArg = process.argv.indexOf("--threads");
const THREADS = threadsArg > 0 ? [Number(process.argv[threadsArg + 1])] : [1, 2];
if (!THREADS.every((t) => t === 1 || t === 2)) throw new Error("--threads takes 1 or 2");

const PREFILL: [number, number, number] = [512, 2560, 2560];
const DECODE: [number, number, number] = [1, 2560, 2560];
const MATVEC: [string, number, number][] = [
  ["1×2560→10240", 10240, 2560],
  ["1×10240→2560", 2560, 10240],
];
const FORMATS: [string, WeightFormat][] = [
  ["q8", WeightFormat.q8],
  ["q4", WeightFormat.q4],
  ["q4x4", WeightFormat.q4x4],
  ["f16", WeightFormat.f16],
];
const FORMAT_BYTES: Record<number, number> = { 0: 4, 1: 2, 2: 2, 3: 34 / 32, 4: 18 / 32, 5: 18 / 32 };
const isQuant = (f: WeightFormat) =>
  f === WeightFormat.q8 || f === WeightFormat.q4 || f === WeightFormat.q4x4;

/** Weights at dst in `format` from f32 at src (q4x4: quantized to q4, then repacked as the loader does). */
function encode(b: WasmBackend, src: number, dst: number, format: WeightFormat, n: number, k: number): void {
  b.convert(src, WeightFormat.f32, dst, format === WeightFormat.q4x4 ? WeightFormat.q4 : format, n * k);
  if (format === WeightFormat.q4x4 && !b.repackQ4(dst, dst, n, k))
    throw new Error("repackQ4 refused the weights");
}
const decodeCopies = Math.ceil(COLD_BYTES / (DECODE[1] * DECODE[2] * 4));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** Figures collected over rounds, by key. */
class Samples {
  readonly m = new Map<string, number[]>();
  add(key: string, v: number): void {
    const a = this.m.get(key) ?? [];
    a.push(v);
    this.m.set(key, a);
  }
  merge(o: Samples): void {
    for (const [k, v] of o.m) for (const x of v) this.add(k, x);
  }
  median(key: string): number | null {
    const a = this.m.get(key);
    return a?.length ? median(a) : null;
  }
}

// ── the machine's read bandwidth: a small C program (AVX2 loads, 4 streams per thread, OpenMP) ──────────
const BANDWIDTH_C = String.raw`
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp(const void* a, const void* b) { double x = *(const double*)a, y = *(const double*)b; return (x > y) - (x < y); }
int main(int argc, char** argv) {
  size_t bytes = (size_t)atol(argv[1]) << 20; int threads = atoi(argv[2]); int reps = atoi(argv[3]);
  size_t n = bytes / 4; float* buf = aligned_alloc(64, bytes);
  #pragma omp parallel for num_threads(threads) schedule(static)
  for (size_t i = 0; i < n; i++) buf[i] = (float)(i & 1023);
  double times[64]; volatile float sink = 0;
  for (int r = 0; r < reps; r++) {
    double t0 = now(); float total = 0;
    #pragma omp parallel num_threads(threads) reduction(+:total)
    {
      int t = omp_get_thread_num(), nt = omp_get_num_threads();
      size_t chunk = (n / nt) & ~(size_t)31; const float* p = buf + t * chunk;
      size_t q = chunk / 4;
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (size_t i = 0; i < q; i += 8) {
        a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i)); a1 = _mm256_add_ps(a1, _mm256_load_ps(p + q + i));
        a2 = _mm256_add_ps(a2, _mm256_load_ps(p + 2 * q + i)); a3 = _mm256_add_ps(a3, _mm256_load_ps(p + 3 * q + i));
      }
      float o[8]; _mm256_storeu_ps(o, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
      for (int j = 0; j < 8; j++) total += o[j];
    }
    times[r] = now() - t0; sink += total;
  }
  qsort(times, reps, sizeof(double), cmp);
  printf("%.3f\n", (double)((n / threads) & ~(size_t)31) * threads * 4 / times[reps / 2] / 1e9);
  return 0;
}
`;

/** Compiles the bandwidth program; returns its path or why it cannot run. */
function buildBandwidth(dir: string): { exe: string } | { skip: string } {
  const src = join(dir, "readbw.c");
  const exe = join(dir, "readbw");
  writeFileSync(src, BANDWIDTH_C);
  const cc = spawnSync("gcc", ["-O3", "-march=native", "-fopenmp", src, "-o", exe], { encoding: "utf8" });
  if (cc.error || cc.status !== 0)
    return {
      skip: `no C compiler (gcc -O3 -march=native -fopenmp failed: ${cc.error?.message ?? cc.stderr.trim()})`,
    };
  return { exe };
}

function measureBandwidth(exe: string, threads: number): number | null {
  const r = spawnSync(exe, ["512", String(threads), String(REPS)], { encoding: "utf8" });
  return r.status === 0 ? Number(r.stdout.trim()) : null;
}

// ── OpenBLAS through numpy: one long-lived python per thread count, answering "shape index" lines ──────
const NUMPY_PY = `
import json, sys, time
import numpy as np
shapes, reps = json.loads(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
data = []
for m, n, k, copies in shapes:
    a = rng.standard_normal((m, k), dtype=np.float32)
    ws = [rng.standard_normal((n, k), dtype=np.float32) for _ in range(copies)]
    for w in ws: a @ w.T
    data.append((m, n, k, a, ws))
print("ready", flush=True)
for line in sys.stdin:
    m, n, k, a, ws = data[int(line)]
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for w in ws: a @ w.T
        ts.append((time.perf_counter() - t0) / len(ws))
    ts.sort()
    print(2 * m * n * k / ts[len(ts) // 2] / 1e9, flush=True)
`;

class NumpyPeer {
  private readonly proc: ChildProcess;
  private readonly lines: AsyncIterator<string>;

  constructor(dir: string, shapes: [number, number, number, number][], threads: number) {
    const py = join(dir, "gemm.py");
    writeFileSync(py, NUMPY_PY);
    const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
    this.proc = spawn("python3", [py, JSON.stringify(shapes), String(REPS)], {
      env,
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.lines = createInterface({ input: this.proc.stdout! })[Symbol.asyncIterator]();
  }

  private async next(): Promise<string> {
    const r = await this.lines.next();
    if (r.done) throw new Error("numpy peer exited");
    return r.value;
  }

  async ready(): Promise<void> {
    if ((await this.next()) !== "ready") throw new Error("numpy peer did not start");
  }

  async measure(shape: number): Promise<number> {
    this.proc.stdin!.write(`${shape}\n`);
    return Number(await this.next());
  }

  close(): void {
    this.proc.stdin!.end();
    this.proc.kill();
  }
}

function numpyAvailable(): string | null {
  const probe = () => spawnSync("python3", ["-c", "import numpy"], { encoding: "utf8" });
  let r = probe();
  if (r.status === 0) return null;
  if (process.getuid?.() === 0 && !process.argv.includes("--no-install")) {
    log("numpy missing: apt-get install -y python3-numpy");
    spawnSync("apt-get", ["install", "-y", "python3-numpy"], { stdio: "ignore" });
    r = probe();
    if (r.status === 0) return null;
  }
  return "python3 with numpy is not available (install python3-numpy)";
}

function blasVersion(): string {
  const r = spawnSync(
    "python3",
    [
      "-c",
      "import numpy as np; b = np.__config__.CONFIG['Build Dependencies']['blas']; print('numpy', np.__version__, '/', b.get('name'), b.get('version'))",
    ],
    { encoding: "utf8" },
  );
  return r.status === 0 ? r.stdout.trim() : "unknown";
}

// ── imp-ts: one backend per SIMD variant, its weights kept for all rounds ──────────────────────────────
function fillRandom(b: WasmBackend, p: number, n: number, scale: number): void {
  const v = new Float32Array(b.heap.buffer, p, n);
  let s = 0x12345678;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = ((s >>> 8) / 2 ** 24 - 0.5) * scale;
  }
}

/** Median seconds per call over REPS passes of call(copy) through all copies (after one warm pass). */
function timeCopies(copies: number, call: (i: number) => void): number {
  for (let i = 0; i < copies; i++) call(i);
  const ts: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < copies; i++) call(i);
    ts.push((performance.now() - t0) / 1000 / copies);
  }
  return median(ts);
}

function gemmArgs(a: number, w: number, c: number, m: number, n: number, k: number) {
  return {
    a,
    b: w,
    c,
    bias: 0,
    bFormat: WeightFormat.f32,
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
  } as const;
}

interface ImpCase {
  kernel: string;
  shape: string;
  /** GOP/s: integer multiply-adds, counted as two operations each like GFLOP/s. */
  unit: "GFLOP/s" | "GOP/s" | "GB/s";
  /** Runs the case once on the backend's current thread limit; returns the figure. */
  run(): number;
}

/** Allocates every case's data on `b`; the same weight copies serve both matvec shapes of a format. */
function impCases(b: WasmBackend): ImpCase[] {
  const cases: ImpCase[] = [];
  const maxK = 10240;
  const x = b.heap.alloc(PREFILL[0] * PREFILL[2] * 4);
  fillRandom(b, x, PREFILL[0] * PREFILL[2], 2);
  const xq = b.heap.alloc((maxK / 32) * 34);
  b.convert(x, WeightFormat.f32, xq, WeightFormat.q8, maxK);
  const out = b.heap.alloc(PREFILL[0] * PREFILL[1] * 4);
  const [pm, pn, pk] = PREFILL;
  const wPrefill = b.heap.alloc(pn * pk * 4);
  fillRandom(b, wPrefill, pn * pk, 0.1);
  cases.push({
    kernel: "f32 gemm (x·Wᵀ)",
    shape: PREFILL.join("×"),
    unit: "GFLOP/s",
    run: () => (2 * pm * pn * pk) / timeCopies(1, () => b.gemm(gemmArgs(x, wPrefill, out, pm, pn, pk))) / 1e9,
  });
  // The prefill shape with quantized weights: integer products (activations quantized to q8 per row, timed
  // with the product as linear() runs it) and the f32 GEMM over widened weights.
  const xqPrefill = b.heap.alloc(((pm * pk) / 32) * 34);
  for (const [name, format] of FORMATS.filter(([, f]) => isQuant(f))) {
    const wq = b.heap.alloc(pn * pk * FORMAT_BYTES[format]!);
    encode(b, wPrefill, wq, format, pn, pk);
    cases.push({
      kernel: `${name} integer gemm (linearQuant)`,
      shape: PREFILL.join("×"),
      unit: "GOP/s",
      run: () =>
        (2 * pm * pn * pk) /
        timeCopies(1, () => {
          b.convert(x, WeightFormat.f32, xqPrefill, WeightFormat.q8, pm * pk);
          b.linearQuant(xqPrefill, wq, format, 0, out, pm, pn, pk);
        }) /
        1e9,
    });
    if (format === WeightFormat.q4x4) continue; // only integer products read q4x4
    cases.push({
      kernel: `${name} gemm, weights widened to f32`,
      shape: PREFILL.join("×"),
      unit: "GFLOP/s",
      run: () =>
        (2 * pm * pn * pk) /
        timeCopies(1, () => b.gemm({ ...gemmArgs(x, wq, out, pm, pn, pk), bFormat: format })) /
        1e9,
    });
  }
  const [dm, dn, dk] = DECODE;
  const wDecode: number[] = [];
  for (let i = 0; i < decodeCopies; i++) {
    wDecode.push(b.heap.alloc(dn * dk * 4));
    fillRandom(b, wDecode[i]!, dn * dk, 0.1);
  }
  cases.push({
    kernel: "f32 gemm (x·Wᵀ)",
    shape: DECODE.join("×"),
    unit: "GFLOP/s",
    run: () =>
      (2 * dm * dn * dk) /
      timeCopies(decodeCopies, (i) => b.gemm(gemmArgs(x, wDecode[i]!, out, dm, dn, dk))) /
      1e9,
  });
  const src = b.heap.alloc(MATVEC[0]![1] * MATVEC[0]![2] * 4);
  fillRandom(b, src, MATVEC[0]![1] * MATVEC[0]![2], 0.1);
  for (const [name, format] of FORMATS) {
    const elems = MATVEC[0]![1] * MATVEC[0]![2];
    const wBytes = elems * FORMAT_BYTES[format]!;
    const copies = Math.max(2, Math.ceil(COLD_BYTES / wBytes));
    const quant = isQuant(format);
    let ws: number[] = [];
    for (const [shape, n, k] of MATVEC) {
      // q4x4's groups of rows depend on the shape: its copies are written per shape (the others' once).
      if (ws.length === 0 || format === WeightFormat.q4x4) {
        ws = [];
        for (let i = 0; i < copies; i++) {
          ws.push(b.heap.alloc(wBytes));
          encode(b, src, ws[i]!, format, n, k);
        }
      }
      const mine = ws;
      cases.push({
        kernel: `${name} matvec`,
        shape,
        unit: "GB/s",
        run: () =>
          wBytes /
          timeCopies(copies, (i) =>
            quant
              ? b.linearQuant(xq, mine[i]!, format, 0, out, 1, n, k)
              : b.linearDot(x, mine[i]!, format, 0, out, 1, n, k),
          ) /
          1e9,
      });
    }
  }
  b.heap.release(src);
  return cases;
}

/** Rounds are kept when 2 threads run an embarrassingly parallel kernel at least this much faster than 1. */
const QUIET_SPEEDUP = 1.75;
/** Past this many seconds from the start, every round is kept (and the doc says so): a time budget. */
const QUIET_BUDGET_S = quick ? 90 : 240;

/** Returns a function measuring the 2-thread speedup of GELU over 4 Mi floats on `b`. */
function quietProbe(b: WasmBackend): () => number {
  const n = 4 << 20;
  const x = b.heap.alloc(n * 4);
  const y = b.heap.alloc(n * 4);
  fillRandom(b, x, n, 4);
  const time = (t: number) => {
    b.limitThreads(t);
    const ts: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      b.activation(x, y, n, 0);
      ts.push(performance.now() - t0);
    }
    return median(ts);
  };
  return () => time(1) / time(2);
}

// ── report ──────────────────────────────────────────────────────────────────────────────────────────────
interface Row {
  kernel: string;
  shape: string;
  threads: number;
  unit: string;
  imp: number;
  peerName: string;
  peer: number | null;
}

function fmtRow(r: Row): string {
  const peer = r.peer === null ? "–" : `${r.peerName} ${r.peer.toFixed(1)}`;
  const ratio = r.peer === null ? "–" : `${((100 * r.imp) / r.peer).toFixed(0)} %`;
  return `| ${r.kernel} | ${r.shape} | ${r.threads} | ${r.imp.toFixed(1)} ${r.unit} | ${peer} | ${ratio} |`;
}

/** AMD's core generation from the family/model numbers (virtual machines often name the CPU only "AMD EPYC"). */
function amdCore(family: number, model: number): string | null {
  if (family === 23) return model >= 0x30 ? "Zen 2" : "Zen";
  if (family === 25) return model < 0x10 || (model >= 0x20 && model < 0x60) ? "Zen 3" : "Zen 4";
  if (family === 26) return "Zen 5";
  return null;
}

/** CPU model, family/model numbers and widest vector extension (they decide what the peers can reach). */
function cpuModel(): string {
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(info)?.[1]?.trim();
    const flags = ` ${field("flags") ?? ""} `;
    const simd = flags.includes(" avx512f ") ? "AVX-512" : flags.includes(" avx2 ") ? "AVX2" : "SSE";
    const arch = amdCore(Number(field("cpu family")), Number(field("model")));
    return `${field("model name") ?? "unknown"}${arch ? ` (${arch})` : ""}, family ${field("cpu family")} model ${field("model")}, ${simd} (${cpus().length} logical CPUs)`;
  } catch {
    return `${cpus()[0]?.model ?? "unknown"} (${cpus().length} logical CPUs)`;
  }
}

const START = "<!-- kernels:start -->";
const END = "<!-- kernels:end -->";

/**
 * Replaces the Kernels section of docs/benchmarks.md (between the markers; other sections belong to other
 * benchmarks) where the first copy stood, dropping any other copy, including one whose start marker another
 * writer lost; appended when there is none.
 */
function writeDoc(section: string): void {
  const path = join(root, "docs", "benchmarks.md");
  const block = `${START}\n${section}\n${END}`;
  let text = existsSync(path)
    ? readFileSync(path, "utf8")
    : "# Benchmarks\n\nMeasured numbers, each with the command that produced it.\n";
  let at = -1;
  for (;;) {
    const b = text.indexOf(END);
    if (b < 0) break;
    const a = text.lastIndexOf(START, b);
    const heading = text.lastIndexOf("## Kernels", b);
    const from = a >= 0 ? a : heading >= 0 ? heading : b;
    if (at < 0) at = from;
    text = text.slice(0, from) + text.slice(b + END.length).replace(/^\n+/, "");
  }
  text = at < 0 ? `${text.trimEnd()}\n\n${block}\n` : `${text.slice(0, at)}${block}\n\n${text.slice(at)}`;
  writeFileSync(path, text);
  log(`wrote ${path}`);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "imp-bench-"));
  const samples = new Samples();
  const peers = new Map<number, NumpyPeer>();
  const load0 = loadavg()[0]!;
  try {
    const bw = buildBandwidth(dir);
    const numpyMissing = numpyAvailable();
    if (!numpyMissing) {
      for (const t of THREADS)
        peers.set(
          t,
          new NumpyPeer(
            dir,
            [
              [...PREFILL, 1],
              [...DECODE, decodeCopies],
            ],
            t,
          ),
        );
      await Promise.all([...peers.values()].map((p) => p.ready()));
    }
    const variants: { label: string; b: WasmBackend; cases: ImpCase[] }[] = [];
    const main = await WasmBackend.create({ threads: Math.max(...THREADS), relaxedSimd: true });
    variants.push({ label: "", b: main, cases: impCases(main) });
    if (main.features.includes("relaxed-simd")) {
      const plain = await WasmBackend.create({ threads: Math.max(...THREADS), relaxedSimd: false });
      variants.push({ label: " (plain SIMD128)", b: plain, cases: impCases(plain) });
    }
    log(`set up in ${((performance.now() - t0) / 1000).toFixed(0)} s; ${ROUNDS} rounds`);
    // A round counts only if the cores were free around it (another tenant on the host makes 2 threads run
    // like 1): checked by the speedup of an embarrassingly parallel kernel before and after the round. With one
    // thread (--threads 1) there is no second thread to probe with: every round counts, and the doc says so.
    const screened = THREADS.length > 1;
    const quiet = screened ? quietProbe(main) : () => Number.NaN;
    let kept = 0;
    let dropped = 0;
    let contended = 0;
    while (kept < ROUNDS) {
      const before = quiet();
      const round = new Samples();
      for (const t of THREADS) {
        if ("exe" in bw) {
          const v = measureBandwidth(bw.exe, t);
          if (v !== null) round.add(`bw/${t}`, v);
        }
        const peer = peers.get(t);
        if (peer) {
          round.add(`blas/${t}/prefill`, await peer.measure(0));
          round.add(`blas/${t}/decode`, await peer.measure(1));
        }
        for (const v of variants) {
          v.b.limitThreads(t);
          for (const c of v.cases) round.add(`imp/${v.label}/${t}/${c.kernel}/${c.shape}`, c.run());
        }
      }
      const after = quiet();
      const late = (performance.now() - t0) / 1000 > QUIET_BUDGET_S;
      const ok = !screened || Math.min(before, after) >= QUIET_SPEEDUP || late;
      if (screened && late && Math.min(before, after) < QUIET_SPEEDUP) contended++;
      if (ok) {
        samples.merge(round);
        kept++;
      } else dropped++;
      log(
        `round ${ok ? "kept" : "dropped"} (2-thread speedup ${before.toFixed(2)} / ${after.toFixed(2)}, load average ${loadavg()[0]!.toFixed(1)}); ${kept}/${ROUNDS} kept`,
      );
    }
    const rows: Row[] = [];
    for (const v of variants)
      for (const t of THREADS)
        for (const c of v.cases) {
          const gemm = c.unit !== "GB/s";
          rows.push({
            kernel: c.kernel + v.label,
            shape: c.shape,
            threads: t,
            unit: c.unit,
            imp: samples.median(`imp/${v.label}/${t}/${c.kernel}/${c.shape}`)!,
            peerName: gemm ? "OpenBLAS" : "read bandwidth",
            peer: gemm
              ? samples.median(`blas/${t}/${c.shape === PREFILL.join("×") ? "prefill" : "decode"}`)
              : samples.median(`bw/${t}`),
          });
        }
    const notes: string[] = [];
    if (dropped > 0)
      notes.push(
        `${dropped} round(s) were dropped because another process was using the cores (2-thread speedup of a parallel kernel below ${QUIET_SPEEDUP}).`,
      );
    if (contended > 0)
      notes.push(
        `The host stayed busy past the ${QUIET_BUDGET_S} s budget: ${contended} of the ${ROUNDS} rounds above ran while another process was using the cores, so 2-thread figures understate.`,
      );
    if (!screened)
      notes.push(
        `Only ${THREADS[0]} thread(s) measured (--threads): rounds were not screened for other processes on the cores; the load average above says how busy the host was.`,
      );
    if ("skip" in bw) notes.push(`Read bandwidth skipped: ${bw.skip}.`);
    if (numpyMissing) notes.push(`OpenBLAS skipped: ${numpyMissing}.`);
    const load1 = loadavg()[0]!;
    const section = [
      "## Kernels",
      "",
      `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC by \`npm run bench:kernels\`${quick ? " -- --quick" : ""}.`,
      "",
      `- CPU: ${cpuModel()}; load average ${load0.toFixed(1)} → ${load1.toFixed(1)} during the run (a shared host)`,
      `- Node ${process.versions.node}, V8 ${process.versions.v8}; imp-ts backend: ${main.features.filter((f) => !f.startsWith("threads")).join(", ")}`,
      `- Peers: ${numpyMissing ? "no OpenBLAS" : `OpenBLAS through ${blasVersion()}`}; read bandwidth: C, gcc -O3 -march=native, AVX2 loads, 4 streams per thread over 512 MiB`,
      `- Threads: ${THREADS.join(" and ")}. ${ROUNDS} interleaved rounds (bandwidth, OpenBLAS and imp-ts measured in turn), each figure the`,
      `  median over rounds of the median of ${REPS} repetitions. Decode-shaped products cycle through ≥ 256 MiB of weight`,
      "  copies so every call streams from DRAM (imp-ts and numpy alike); matvec rows give GB/s of weights read and,",
      "  as the ratio, the share of the read bandwidth measured with the same thread count. Integer GEMM rows count",
      "  a multiply-add as two operations (GOP/s, comparable with GFLOP/s) and include quantizing the activations",
      "  to q8; their peer is OpenBLAS's f32 sgemm at the same shape (the work linear() would otherwise do).",
      "",
      "| kernel | shape (m×n×k or m×in→out) | threads | imp-ts | peer | imp-ts ÷ peer |",
      "| --- | --- | --- | --- | --- | --- |",
      ...rows.map(fmtRow),
      ...(notes.length ? ["", ...notes] : []),
    ].join("\n");
    console.log(section);
    if (!process.argv.includes("--no-write")) writeDoc(section);
    for (const v of variants) v.b.dispose();
    log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    for (const p of peers.values()) p.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
