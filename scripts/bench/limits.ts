/**
 * The machine, the versions, and its limits measured in the run: read bandwidth (scripts/bench/bandwidth.c,
 * gcc -O3 -march=native) → decode ≤ bandwidth ÷ weight bytes per token; peak f32 GEMM rate (OpenBLAS sgemm
 * through torch.mm) → prefill ≤ peak ÷ (2 · params per token).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { runChild } from "./run.js";

export interface Machine {
  cpu: string;
  cores: number;
  simd: string;
  node: string;
  v8: string;
  nodeLlamaCpp: string;
  gcc: string | null;
  openblas: string | null;
}

const here = new URL(".", import.meta.url).pathname;
const root = new URL("../..", import.meta.url).pathname;

/** The command's trimmed output, or null where it is missing or fails. */
export function tryRun(cmd: string, args: readonly string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function machine(): Machine {
  const info = readFileSync("/proc/cpuinfo", "utf8");
  const model = info.match(/model name\s*:\s*(.+)/)?.[1] ?? cpus()[0]?.model ?? "unknown";
  const family = info.match(/cpu family\s*:\s*(\d+)/)?.[1];
  const mdl = info.match(/^model\s*:\s*(\d+)/m)?.[1];
  const flags = new Set((info.match(/flags\s*:\s*(.+)/)?.[1] ?? "").split(/\s+/));
  const simd = ["avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni"]
    .filter((f) => flags.has(f))
    .join(", ");
  const pkg = join(root, "node_modules/node-llama-cpp/package.json");
  return {
    cpu: `${model}${family ? ` (family ${family} model ${mdl})` : ""}`,
    cores: cpus().length,
    simd,
    node: process.version,
    v8: process.versions.v8,
    nodeLlamaCpp: existsSync(pkg)
      ? (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version
      : "absent",
    gcc: tryRun("gcc", ["-dumpfullversion"]),
    // dpkg-query's own format syntax, not a template string.
    openblas: tryRun("dpkg-query", ["-W", `-f=${"$"}{Version}`, "libopenblas0-pthread"]),
  };
}

/** GB/s (median of 9 passes over 1 GiB) per thread count, or the reason it could not be measured. */
export function readBandwidth(cache: string, threads: readonly number[]): Record<number, number> | string {
  if (!tryRun("gcc", ["--version"])) return "no C compiler (gcc) found: bandwidth not measured";
  const bin = join(cache, "bandwidth");
  mkdirSync(cache, { recursive: true });
  try {
    execFileSync("gcc", ["-O3", "-march=native", "-pthread", join(here, "bandwidth.c"), "-o", bin]);
    const out = JSON.parse(execFileSync(bin, threads.map(String), { encoding: "utf8" })) as Record<
      string,
      { median: number }
    >;
    return Object.fromEntries(threads.map((t) => [t, out[t]!.median]));
  } catch (e) {
    return `bandwidth program failed: ${(e as Error).message.split("\n")[0]}`;
  }
}

/** Best f32 GEMM GFLOP/s per thread count (torch.mm → OpenBLAS), or why not. */
export async function peakFlops(
  python: string | null,
  threads: readonly number[],
  specFile: (o: unknown) => string,
): Promise<Record<number, number> | string> {
  if (!python) return "no PyTorch: peak FLOP/s not measured";
  const out: Record<number, number> = {};
  for (const t of threads) {
    const r = await runChild(python, [join(here, "torch_ref.py"), specFile({ mode: "peak", threads: t })], {
      timeoutMs: 120_000,
      env: threadEnv(t),
    });
    if (!r.ok) return `peak FLOP/s failed: ${r.error}`;
    out[t] = r.json!.gflops as number;
  }
  return out;
}

export function threadEnv(t: number): Record<string, string> {
  return { OMP_NUM_THREADS: String(t), OPENBLAS_NUM_THREADS: String(t), MKL_NUM_THREADS: String(t) };
}

/** The BLAS a python's torch loads (Debian's libblas.so.3 is an alternative: reference BLAS or OpenBLAS), or null. */
export function torchBlas(python: string): string | null {
  const probe = [
    "import torch",
    "torch.randn(64, 64) @ torch.randn(64, 64)",
    "maps = open('/proc/self/maps').read()",
    "print(next((n for n in ('openblas', 'mkl', 'blis', 'atlas') if n in maps), 'reference'))",
  ].join("\n");
  return tryRun(python, ["-c", probe]);
}

function aptInstall(packages: readonly string[], log: (s: string) => void): boolean {
  const root = process.getuid?.() === 0;
  if (!root || process.env.IMP_BENCH_NO_APT || !tryRun("apt-get", ["--version"])) return false;
  log(`apt-get install -y ${packages.join(" ")} …`);
  return (
    spawnSync("apt-get", ["install", "-y", ...packages], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    }).status === 0
  );
}

/**
 * A python3 with torch on an optimised BLAS: Debian's /usr/bin/python3 first. When torch or OpenBLAS is absent and
 * we are root (and IMP_BENCH_NO_APT is unset), installs them with apt; returns null (skip, with `why`) otherwise.
 * A torch on the reference BLAS is refused: its GEMMs run several times slower than OpenBLAS's, so every ratio
 * against it would flatter imp-ts.
 */
export function findTorch(log: (s: string) => void): {
  python: string | null;
  torch: string | null;
  blas?: string;
  why?: string;
} {
  const probe = (py: string) => tryRun(py, ["-c", "import torch; print(torch.__version__)"]);
  const found = () => {
    for (const py of ["/usr/bin/python3", "python3"]) {
      const v = probe(py);
      if (v) return { python: py, torch: v };
    }
    return null;
  };
  let t = found();
  if (!t && aptInstall(["python3-torch", "libopenblas0-pthread"], log)) t = found();
  if (!t) {
    return {
      python: null,
      torch: null,
      why: "PyTorch is not installed (apt-get install python3-torch libopenblas0-pthread as root to add the column)",
    };
  }
  let blas = torchBlas(t.python);
  if (blas === "reference" && aptInstall(["libopenblas0-pthread"], log)) blas = torchBlas(t.python);
  if (blas === "reference" || blas === null) {
    return {
      python: null,
      torch: t.torch,
      why:
        `PyTorch ${t.torch} runs on ${blas === null ? "a BLAS that could not be named" : "the reference BLAS"}, ` +
        "not a fair peer (apt-get install libopenblas0-pthread as root to add the column)",
    };
  }
  return { ...t, blas };
}
