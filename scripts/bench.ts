/**
 * `npm run bench`: imp-ts beside llama.cpp (node-llama-cpp, on our GGUF export) and PyTorch CPU f32
 * (scripts/bench/torch_ref.py), on the same random-weight real-shape checkpoints, the same threads, in the same
 * run, with the machine's limits measured in the run. Every measurement runs in a fresh child process. The
 * vision column's llama.cpp peer, `llama-mtmd-cli`, is compiled once into --dir from the llama.cpp sources that
 * node-llama-cpp ships (scripts/bench/mtmd-build.ts; git, cmake and a C++ compiler needed, else the column is
 * skipped and the report says why).
 *
 *   npm run bench -- [--quick] [--budget MIN] [--models fixture,phi2,qwen] [--threads 1,2] [--formats q4,q8]
 *                    [--peers llama,torch,mtmd] [--dir DIR] [--docs | --no-docs] [--profile] [--clean]
 *                    [--quiet-wait S] [--resume runs/bench-….json]
 *
 * Full run (default): the fixture model and Imp-v1.5-3B-Phi2 / Imp-v1.5-2B-Qwen1.5 (plus models/imp-tiny when
 * present), formats f32, f16, q8, q4 where they fit in 4 GiB, threads 1 and 2, 128 decoded tokens; writes its
 * section of docs/benchmarks.md. --quick: the fixture and Phi-2's widths with 4 of 32 LLM layers and 5 of 27
 * vision layers ("phi2-slim"), q4 only, 32 decoded tokens; prints the table (--docs to write it too).
 * Checkpoints, quantized copies and GGUFs are cached in --dir ($IMP_BENCH_DIR, default /tmp/imp-bench).
 * The host may be shared: each run notes how busy other processes kept the CPUs, a disturbed measurement is
 * repeated once if the machine has gone quiet, and --resume FILE (a previous run's raw results, in DIR/runs/)
 * keeps that run's undisturbed measurements and measures only the rest again.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { heapEstimate, sizes, visionFormat, WASM_LIMIT } from "./bench/estimate.js";
import { findTorch, machine, peakFlops, readBandwidth, threadEnv } from "./bench/limits.js";
import type { BenchModel, Format, PreparedModel } from "./bench/models.js";
import { benchModels, builtinMissing, prepareModel, textOnly } from "./bench/models.js";
import { findOrBuildMtmd } from "./bench/mtmd-build.js";
import { type Measured, render } from "./bench/report.js";
import { busyNow, type ChildResult, runChild, waitQuiet } from "./bench/run.js";
import { replaceSection } from "./docs-section.js";
import { helpFromHeader } from "./help.js";

helpFromHeader(import.meta.url);

const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    budget: { type: "string" },
    models: { type: "string" },
    threads: { type: "string", default: "1,2" },
    formats: { type: "string" },
    peers: { type: "string", default: "llama,torch,mtmd" },
    dir: { type: "string" },
    docs: { type: "boolean" },
    "no-docs": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    clean: { type: "boolean", default: false },
    "quiet-wait": { type: "string" },
    resume: { type: "string" },
  },
});

const root = new URL("..", import.meta.url).pathname;
const quick = opt.quick!;
const budgetMs = Number(opt.budget ?? (quick ? 9 : 240)) * 60_000;
const t0 = Date.now();
const deadline = t0 + budgetMs;
const cache = opt.dir ?? process.env.IMP_BENCH_DIR ?? join(tmpdir(), "imp-bench");
const threads = opt.threads!.split(",").map(Number);
const formats = (opt.formats ?? (quick ? "q4" : "f32,f16,q8,q4")).split(",") as Format[];
const peers = new Set(opt.peers!.split(",").filter(Boolean));
const quietWaitMs = Number(opt["quiet-wait"] ?? (quick ? 3 : 15)) * 1000;
const image = join(root, "../shared/fixtures/preprocess/landscape_rgb.png");
const wantKeys = (opt.models ?? (quick ? "fixture,phi2-slim" : "fixture,phi2,qwen,builtin")).split(",");

const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s`;
const log = (s: string) => process.stderr.write(`[bench ${elapsed()}] ${s}\n`);
for (const t of threads)
  if (!Number.isInteger(t) || t < 1) throw new Error(`--threads: bad thread count ${t}`);
for (const f of formats)
  if (!["f32", "f16", "q8", "q4"].includes(f)) throw new Error(`--formats: unknown ${f}`);

mkdirSync(join(cache, "runs"), { recursive: true });
let specN = 0;
const specFile = (o: unknown) => {
  const f = join(cache, "runs", `spec-${process.pid}-${specN++}.json`);
  writeFileSync(f, JSON.stringify(o));
  return f;
};

// ── the machine and the peers ──────────────────────────────────────────────────────────────────────────────
const m = machine();
log(`${m.cpu}, ${m.cores} cores (${m.simd}); Node ${m.node}`);
const torch = peers.has("torch") ? findTorch(log) : { python: null, torch: null, why: "not asked (--peers)" };
if (!torch.python) log(`PyTorch column skipped: ${torch.why}`);
// Built before the quiet wait and the measurements: a compile is the heaviest thing the bench could run.
const mtmdCli = peers.has("mtmd") ? await findOrBuildMtmd(cache, log) : null;
const mtmd = mtmdCli?.bin ?? null;
const notes: string[] = [];
if (torch.why && peers.has("torch")) notes.push(`PyTorch: ${torch.why}.`);
if (mtmdCli && mtmdCli.bin === null) {
  log(`llama.cpp vision column skipped: ${mtmdCli.why}`);
  notes.push(`llama.cpp vision: column skipped, no llama-mtmd-cli: ${mtmdCli.why}.`);
}

await waitQuiet(quietWaitMs);
log("measuring read bandwidth and peak FLOP/s …");
const bandwidth = readBandwidth(cache, threads);
const peak = await peakFlops(torch.python, threads, specFile);
if (typeof bandwidth === "string") notes.push(`Decode limit: ${bandwidth}.`);
if (typeof peak === "string") notes.push(`Prefill/vision limit: ${peak}.`);
log(`bandwidth ${JSON.stringify(bandwidth)} GB/s; peak ${JSON.stringify(peak)} GFLOP/s`);

// ── the runs ───────────────────────────────────────────────────────────────────────────────────────────────
const measured: Measured[] = [];
const skipped: string[] = [];
const models = benchModels(quick).filter((x) => wantKeys.includes(x.key));
if (wantKeys.includes("builtin") && builtinMissing())
  notes.push("Built-in model: models/imp-tiny is not installed, not measured.");
const overBudget = () => Date.now() > deadline;
/** Other processes' average load (cores) above which a measurement is repeated once. */
const RETRY_BUSY = 0.5;

/** Every measurement of this run by name, and the previous run's (--resume). */
const results: Record<string, ChildResult> = {};
const previous = opt.resume ? loadPrevious(opt.resume) : {};
let reused = 0;

/** One measurement in a fresh process; rerun once (budget permitting) when other processes disturbed it. */
async function child(
  what: string,
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  expectJson = true,
): Promise<ChildResult | null> {
  const prev = previous[what];
  if (prev?.ok && prev.busyCores <= RETRY_BUSY) {
    log(`${what}: kept from ${opt.resume}`);
    reused++;
    results[what] = prev;
    return prev;
  }
  const r = await measure(what, cmd, args, env, expectJson);
  if (r) results[what] = r;
  return r;
}

async function measure(
  what: string,
  cmd: string,
  args: string[],
  env: Record<string, string>,
  expectJson: boolean,
): Promise<ChildResult | null> {
  let best: ChildResult | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    if (overBudget()) {
      if (!best) skipped.push(`${what} (time budget spent)`);
      return best;
    }
    const before = await waitQuiet(quietWaitMs);
    log(`${what}${attempt ? " (again: the machine was busy)" : ""} …`);
    const timeoutMs = Math.max(60_000, Math.min(deadline - Date.now(), 45 * 60_000));
    const r = await runChild(cmd, args, { timeoutMs, env, expectJson });
    if (!r.ok) log(`  failed: ${r.error}`);
    else
      log(
        `  ${(r.wallMs / 1000).toFixed(0)} s; other processes: ${r.busyCores.toFixed(2)} cores (before: ${before.toFixed(2)})`,
      );
    if (!best || (r.ok && (!best.ok || r.busyCores < best.busyCores))) best = r;
    // Again only if the others have gone quiet since (a long job elsewhere would just disturb the rerun too).
    if (!r.ok || r.busyCores <= RETRY_BUSY || quick || (await busyNow(1000)) > RETRY_BUSY) break;
  }
  return best;
}

/** A previous run's results by name (older files without `results`: rebuilt from their `measured` list). */
function loadPrevious(file: string): Record<string, ChildResult> {
  const j = JSON.parse(readFileSync(file, "utf8")) as {
    results?: Record<string, ChildResult>;
    measured?: Array<Record<string, ChildResult | null | string | number>>;
  };
  if (j.results) return j.results;
  const out: Record<string, ChildResult> = {};
  for (const e of j.measured ?? []) {
    const [k, f, t] = [e.model, e.format, e.threads] as [string, string, number];
    const put = (name: string, r: unknown) => {
      if (r) out[name] = r as ChildResult;
    };
    put(`imp-ts ${k} ${f} ${t}t`, e.imp);
    put(`llama.cpp ${k} ${f} ${t}t`, e.llama);
    put(`PyTorch ${k} ${t}t`, e.torch);
    put(`imp-ts ${k} vision 196 (${f === "q8" || f === "q4" ? "f16" : f}) ${t}t`, e.imp196);
    put(`llama-mtmd-cli ${k} vision 729 ${t}t`, e.mtmd729);
    put(`llama-mtmd-cli ${k} vision 196 ${t}t`, e.mtmd196);
  }
  return out;
}

const node = process.execPath;
const tsx = ["--import", "tsx"];

function impSpec(
  dir: string,
  f: Format,
  t: number,
  mode: "full" | "text" | "vision",
  bm: BenchModel,
  positions: number,
) {
  return JSON.stringify({
    dir,
    dtype: f === "q8" || f === "q4" ? "auto" : f,
    threads: t,
    image,
    mode,
    textTokens: mode === "text" ? positions : bm.textTokens,
    decodeTokens: bm.decodeTokens,
    shortPrompt: 8,
    profile: false,
  });
}

for (const bm of models) {
  if (overBudget()) {
    skipped.push(`${bm.key}: all runs (time budget spent)`);
    continue;
  }
  const s = sizes(bm.config ?? JSON.parse(readFileSync(join(bm.folder!, "config.json"), "utf8")));
  const imageTokens = s.config.vision
    ? Math.floor(s.config.vision.imageSize / s.config.vision.patch) ** 2
    : 0;
  const positions = imageTokens + bm.textTokens;
  // Which formats fit WebAssembly's 4 GiB: with the vision tower, else the LLM alone, else not at all.
  const plan: Array<{ f: Format; mode: "full" | "text" }> = [];
  for (const f of formats) {
    const full = heapEstimate(s, f, positions, bm.decodeTokens, true);
    const text = heapEstimate(s, f, positions, bm.decodeTokens, false);
    const gib = (x: number) => `${(x / 2 ** 30).toFixed(1)} GiB`;
    if (full <= WASM_LIMIT) plan.push({ f, mode: "full" });
    else if (text <= WASM_LIMIT) {
      plan.push({ f, mode: "text" });
      notes.push(
        `${bm.key} ${f}: the LLM and the vision tower need ≈ ${gib(full)} of WebAssembly memory (4 GiB); measured as the LLM alone (≈ ${gib(text)}) with a ${positions}-token text prompt.`,
      );
    } else {
      skipped.push(
        `${bm.key} ${f}: needs ≈ ${gib(text)} of WebAssembly memory even without the vision tower (4 GiB)`,
      );
    }
  }
  if (plan.length === 0) continue;
  log(`preparing ${bm.key} (${plan.map((p) => p.f).join(", ")}) in ${cache} …`);
  let prep: PreparedModel;
  try {
    prep = prepareModel(
      bm,
      cache,
      plan.map((p) => p.f),
      { gguf: peers.has("llama"), mtmd: mtmd !== null },
      log,
    );
  } catch (e) {
    skipped.push(`${bm.key}: preparing the checkpoints failed: ${(e as Error).message.split("\n")[0]}`);
    continue;
  }

  for (const t of threads) {
    for (const { f, mode } of plan) {
      const entry: Measured = { model: bm, format: f, threads: t, mode, sizes: s, positions };
      measured.push(entry);
      const dir = mode === "text" ? textOnly(prep.formatDir[f]!) : prep.formatDir[f]!;
      entry.imp = await child(`imp-ts ${bm.key} ${f} ${t}t`, node, [
        ...tsx,
        join(root, "scripts/bench/imp-child.ts"),
        impSpec(dir, f, t, mode, bm, positions),
      ]);
      if (
        entry.imp &&
        !entry.imp.ok &&
        mode === "full" &&
        /OutOfMemory|out of memory|4 GiB/i.test(entry.imp.error ?? "")
      ) {
        entry.mode = "text";
        notes.push(
          `${bm.key} ${f} ${t}t: out of WebAssembly memory with the vision tower; measured as the LLM alone.`,
        );
        entry.imp = await child(`imp-ts ${bm.key} ${f} ${t}t (LLM only)`, node, [
          ...tsx,
          join(root, "scripts/bench/imp-child.ts"),
          impSpec(textOnly(prep.formatDir[f]!), f, t, "text", bm, positions),
        ]);
      }
      if (peers.has("llama") && prep.gguf[f])
        entry.llama = await child(`llama.cpp ${bm.key} ${f} ${t}t`, node, [
          ...tsx,
          join(root, "scripts/bench/llama-child.ts"),
          JSON.stringify({
            gguf: prep.gguf[f],
            threads: t,
            prompt: positions,
            shortPrompt: 8,
            decode: bm.decodeTokens,
            vocab: s.config.llm.vocab,
            flashAttention: "auto",
            batchSize: 512,
          }),
        ]);
    }
    // Per model and threads: the 196-token tower (per vision format), llama.cpp's image encode, PyTorch.
    const v196: Partial<Record<Format, ChildResult | null>> = {};
    if (prep.v196)
      for (const vf of new Set(plan.filter((p) => p.mode === "full").map((p) => visionFormat(p.f)))) {
        const f = plan.find((p) => visionFormat(p.f) === vf)!.f;
        v196[vf] = await child(`imp-ts ${bm.key} vision 196 (${vf}) ${t}t`, node, [
          ...tsx,
          join(root, "scripts/bench/imp-child.ts"),
          impSpec(prep.v196, f, t, "vision", bm, positions),
        ]);
      }
    let mtmd729: ChildResult | null = null;
    let mtmd196: ChildResult | null = null;
    if (mtmd && prep.v1LayerGguf && prep.mmproj) {
      const mt = (mm: string, label: string) =>
        child(
          `llama-mtmd-cli ${bm.key} vision ${label} ${t}t`,
          mtmd,
          [
            "-m",
            prep.v1LayerGguf!,
            "--mmproj",
            mm,
            "--image",
            image,
            "-p",
            "Describe the image.",
            "-n",
            "1",
            "-t",
            String(t),
            "--jinja",
          ],
          { LD_LIBRARY_PATH: join(mtmd, "..") },
          false,
        );
      mtmd729 = await mt(prep.mmproj, "729");
      if (prep.v196Mmproj) mtmd196 = await mt(prep.v196Mmproj, "196");
    }
    let torchRun: ChildResult | null = null;
    if (torch.python)
      torchRun = await child(
        `PyTorch ${bm.key} ${t}t`,
        torch.python,
        [
          join(root, "scripts/bench/torch_ref.py"),
          specFile({
            dir: prep.dir,
            v196: prep.v196,
            threads: t,
            textTokens: bm.textTokens,
            decodeTokens: bm.decodeTokens,
            shortPrompt: 8,
          }),
        ],
        threadEnv(t),
      );
    for (const e of measured)
      if (e.model === bm && e.threads === t) {
        e.imp196 = e.mode === "full" ? (v196[visionFormat(e.format)] ?? null) : null;
        e.mtmd729 = mtmd729;
        e.mtmd196 = mtmd196;
        e.torch = torchRun;
      }
  }
}

// An optional per-kernel profile of the first real-size configuration (for the hot-spot notes).
let profile: ChildResult | null = null;
if (opt.profile) {
  const most = Math.max(...threads);
  const e =
    measured.find((x) => x.model.key !== "fixture" && x.mode === "full" && x.threads === most) ?? measured[0];
  if (e) {
    const prep = prepareModel(e.model, cache, [e.format], { gguf: false, mtmd: false }, log);
    const spec = JSON.parse(
      impSpec(prep.formatDir[e.format]!, e.format, e.threads, "full", e.model, e.positions),
    ) as Record<string, unknown>;
    profile = await child(`imp-ts profile ${e.model.key} ${e.format} ${e.threads}t`, node, [
      ...tsx,
      join(root, "scripts/bench/imp-child.ts"),
      JSON.stringify({ ...spec, profile: true }),
    ]);
  }
}

const total = (Date.now() - t0) / 1000;
if (reused)
  notes.push(
    `${reused} of ${Object.keys(results).length} measurements were kept from the undisturbed ones of ${opt.resume}; the rest were measured in this run.`,
  );
const doc = render({
  date: new Date(),
  machine: m,
  torchVersion: torch.python ? torch.torch : null,
  torchBlas: torch.blas,
  mtmd: mtmdCli?.bin ? mtmdCli.source : null,
  bandwidth,
  peak,
  measured,
  skipped,
  notes,
  quick,
  threads,
  totalSeconds: total,
  budgetMinutes: budgetMs / 60_000,
  command: `npm run bench --${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
  profile,
});
process.stdout.write(`${doc}\n`);
writeFileSync(
  join(cache, "runs", `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      results,
      measured: measured.map(({ model, sizes: _s, ...rest }) => ({ model: model.key, ...rest })),
      bandwidth,
      peak,
      skipped,
      notes,
      profile,
    },
    null,
    1,
  ),
);
const writeDocs = opt.docs ?? (!quick && !opt["no-docs"]);
if (writeDocs) {
  replaceSection(
    join(root, "docs/benchmarks.md"),
    "Side by side: imp-ts, llama.cpp, PyTorch (npm run bench)",
    doc,
  );
  log("wrote docs/benchmarks.md (section: Side by side: imp-ts, llama.cpp, PyTorch)");
}
if (opt.clean) {
  rmSync(cache, { recursive: true, force: true });
  log(`removed ${cache}`);
}
log(`finished in ${total.toFixed(0)} s`);
