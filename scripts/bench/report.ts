/**
 * The bench's markdown: the setup, a summary table with the ratios, a detail table per model (every measure,
 * every peer, the limits), the bench targets as met / not met, and what was skipped.
 * Ratios are speed ratios, imp-ts ÷ peer: > 1 means imp-ts is faster (for times: the peer's time ÷ ours).
 */
import { prefillFlopsPerToken, type Sizes, visionFlops } from "./estimate.js";
import type { Machine } from "./limits.js";
import type { BenchModel, Format } from "./models.js";
import type { ChildResult } from "./run.js";

export interface Measured {
  model: BenchModel;
  format: Format;
  threads: number;
  /** "text": the LLM alone (the vision tower does not fit beside it). */
  mode: "full" | "text";
  sizes: Sizes;
  positions: number;
  imp?: ChildResult | null;
  llama?: ChildResult | null;
  torch?: ChildResult | null;
  imp196?: ChildResult | null;
  mtmd729?: ChildResult | null;
  mtmd196?: ChildResult | null;
}

export interface ReportInput {
  date: Date;
  machine: Machine;
  torchVersion: string | null;
  /** The BLAS torch loaded ("openblas", "mkl", …). */
  torchBlas?: string;
  mtmd: string | null;
  bandwidth: Record<number, number> | string;
  peak: Record<number, number> | string;
  measured: Measured[];
  skipped: string[];
  notes: string[];
  quick: boolean;
  threads: number[];
  totalSeconds: number;
  budgetMinutes: number;
  command: string;
  profile: ChildResult | null;
}

type N = number | null;
/** Other processes' average load above which a run is flagged (†). */
const BUSY = 0.3;

function num(r: ChildResult | null | undefined, k: string): N {
  const v = r?.ok ? r.json?.[k] : undefined;
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}
const rate = (tokens: N, ms: N): N => (tokens && ms ? (tokens / ms) * 1000 : null);
const sec = (ms: N): N => (ms === null ? null : ms / 1000);
function mtmdMs(r: ChildResult | null | undefined): N {
  if (!r?.ok) return null;
  const m = /mtmd batch encoding done in (\d+) ms/.exec(`${r.stdout}\n${r.stderr}`);
  return m ? Number(m[1]) : null;
}

/** 3 significant figures, no exponent. */
export function fmt(x: N, unit = ""): string {
  if (x === null) return "—";
  const a = Math.abs(x);
  const s = a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toFixed(3);
  return `${s}${unit}`;
}
const ratio = (x: N) => (x === null ? "—" : `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`);
const pct = (x: N) => (x === null ? "—" : `${(x * 100).toFixed(0)} %`);
const div = (a: N, b: N): N => (a !== null && b !== null && b > 0 ? a / b : null);
const gib = (b: N) => (b === null ? "—" : `${(b / 2 ** 30).toFixed(2)} GiB`);
const flag = (r: ChildResult | null | undefined) => (r?.ok && r.busyCores > BUSY ? "†" : "");

interface Values {
  load: N;
  prep: N;
  vision: N;
  vision196: N;
  prefill: N;
  ttft: N;
  decShort: N;
  decImage: N;
  rss: N;
}

function impValues(e: Measured): Values {
  const r = e.imp;
  return {
    load: sec(num(r, "loadMs")),
    prep: sec(num(r, "prepMs")),
    vision: e.mode === "full" ? sec(num(r, "visionMs")) : null,
    vision196: sec(num(e.imp196, "visionMs")),
    prefill: rate(num(r, "prefillPositions"), num(r, "prefillMs")),
    ttft: sec(num(r, "ttftMs")),
    decShort: rate(num(r, "decodeShortTokens"), num(r, "decodeShortMs")),
    decImage: rate(num(r, "decodeImageTokens"), num(r, "decodeImageMs")),
    rss: num(r, "peakRssBytes"),
  };
}

function llamaValues(e: Measured): Values {
  const r = e.llama;
  const prefillMs = num(r, "prefillMs");
  const v = sec(mtmdMs(e.mtmd729));
  return {
    load: sec(num(r, "loadMs")),
    prep: null,
    vision: v,
    vision196: sec(mtmdMs(e.mtmd196)),
    prefill: rate(num(r, "prefillPositions"), prefillMs),
    ttft: v !== null && prefillMs !== null ? v + prefillMs / 1000 : null,
    decShort: rate(num(r, "decodeShortTokens"), num(r, "decodeShortMs")),
    decImage: rate(num(r, "decodeImageTokens"), num(r, "decodeImageMs")),
    rss: num(r, "peakRssBytes"),
  };
}

function torchValues(e: Measured): Values {
  const r = e.torch;
  const v = sec(num(r, "visionMs"));
  const p = num(r, "prefillMs");
  return {
    load: sec(num(r, "loadMs")),
    prep: null,
    vision: v,
    vision196: sec(num(r, "vision196Ms")),
    prefill: rate(num(r, "prefillPositions"), p),
    ttft: v !== null && p !== null ? v + p / 1000 : null,
    decShort: rate(num(r, "decodeShortTokens"), num(r, "decodeShortMs")),
    decImage: rate(num(r, "decodeImageTokens"), num(r, "decodeImageMs")),
    rss: num(r, "peakRssBytes"),
  };
}

interface Limits {
  /** Decode t/s at short context: read bandwidth ÷ weight bytes per token. */
  decode: N;
  /** Prefill t/s: peak ÷ 2·params per token. */
  prefill: N;
  vision: N;
  vision196: N;
  bytesPerToken: N;
}

function limits(e: Measured, bw: ReportInput["bandwidth"], peak: ReportInput["peak"]): Limits {
  const w = e.imp?.ok ? (e.imp.json?.weightBytes as { llm: number; lmHead: number } | undefined) : undefined;
  const bytes = w ? w.llm + w.lmHead : null;
  const b = typeof bw === "string" ? null : (bw[e.threads] ?? null);
  const p = typeof peak === "string" ? null : (peak[e.threads] ?? null);
  const vf = visionFlops(e.sizes);
  return {
    decode: b !== null && bytes ? (b * 1e9) / bytes : null,
    prefill: p !== null ? (p * 1e9) / prefillFlopsPerToken(e.sizes) : null,
    vision: p !== null && vf ? vf / (p * 1e9) : null,
    vision196: p !== null && vf ? visionFlops(e.sizes, 196) / (p * 1e9) : null,
    bytesPerToken: bytes,
  };
}

const isReal = (e: Measured) => e.model.key !== "fixture" && e.model.key !== "builtin";

function summary(rows: Measured[], input: ReportInput): string[] {
  const out = [
    "| model | format | threads | vision 729 (s) | ÷ llama.cpp | ÷ PyTorch | prefill (t/s) | ÷ llama.cpp | ÷ PyTorch | decode (t/s) | ÷ llama.cpp | ÷ PyTorch | % of limit | TTFT (s) | peak RSS |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const e of rows) {
    const i = impValues(e);
    const l = llamaValues(e);
    const t = torchValues(e);
    const lim = limits(e, input.bandwidth, input.peak);
    const fmtName = `${e.format}${e.mode === "text" ? " (LLM only)" : ""}`;
    out.push(
      `| ${e.model.key} | ${fmtName} | ${e.threads} | ${fmt(i.vision)}${flag(e.imp)} | ${ratio(div(l.vision, i.vision))} | ${ratio(div(t.vision, i.vision))} | ${fmt(i.prefill)}${flag(e.imp)} | ${ratio(div(i.prefill, l.prefill))} | ${ratio(div(i.prefill, t.prefill))} | ${fmt(i.decShort)} | ${ratio(div(i.decShort, l.decShort))} | ${ratio(div(i.decShort, t.decShort))} | ${pct(div(i.decShort, lim.decode))} | ${fmt(i.ttft)} | ${gib(i.rss)} |`,
    );
  }
  return out;
}

function detail(rows: Measured[], input: ReportInput): string[] {
  const out = [
    "| format | threads | measure | imp-ts | llama.cpp | imp ÷ llama | PyTorch f32 | imp ÷ PyTorch | limit | imp % of limit |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const e of rows) {
    const i = impValues(e);
    const l = llamaValues(e);
    const t = torchValues(e);
    const lim = limits(e, input.bandwidth, input.peak);
    const name = `${e.format}${e.mode === "text" ? " (LLM only)" : ""}`;
    const [fi, fl, ft] = [flag(e.imp), flag(e.llama), flag(e.torch)];
    const row = (
      measure: string,
      a: N,
      b: N,
      c: N,
      kind: "time" | "rate" | "bytes",
      limit: N = null,
      marks: [string, string, string] = [fi, fl, ft],
    ) => {
      const show = (x: N) => (kind === "bytes" ? gib(x) : fmt(x));
      const r = (p: N) => (kind === "bytes" ? "—" : ratio(kind === "time" ? div(p, a) : div(a, p)));
      const ofLimit = limit === null ? null : kind === "time" ? div(limit, a) : div(a, limit);
      out.push(
        `| ${name} | ${e.threads} | ${measure} | ${show(a)}${a !== null ? marks[0] : ""} | ${show(b)}${b !== null ? marks[1] : ""} | ${r(b)} | ${show(c)}${c !== null ? marks[2] : ""} | ${r(c)} | ${limit === null ? "—" : fmt(limit)} | ${pct(ofLimit)} |`,
      );
    };
    row("load (s)", i.load, l.load, t.load, "time");
    if (e.mode === "full") {
      row("image preprocessing (s)", i.prep, null, null, "time");
      const tokens = num(e.imp, "imageTokens") ?? num(e.torch, "imageTokens");
      row(`vision encode, ${tokens ?? "?"} tokens (s)`, i.vision, l.vision, t.vision, "time", lim.vision, [
        fi,
        flag(e.mtmd729),
        ft,
      ]);
      if (e.model.variants)
        row("vision encode, 196 tokens (s)", i.vision196, l.vision196, t.vision196, "time", lim.vision196, [
          flag(e.imp196),
          flag(e.mtmd196),
          ft,
        ]);
    }
    row(`prefill, ${e.positions} positions (t/s)`, i.prefill, l.prefill, t.prefill, "rate", lim.prefill);
    row("time to first token (s)", i.ttft, l.ttft, t.ttft, "time");
    row(
      `decode, ${e.model.decodeTokens} tokens after 8 (t/s)`,
      i.decShort,
      l.decShort,
      t.decShort,
      "rate",
      lim.decode,
    );
    row(
      `decode, ${e.model.decodeTokens} tokens after the prompt (t/s)`,
      i.decImage,
      l.decImage,
      t.decImage,
      "rate",
      lim.decode,
    );
    row("peak RSS", i.rss, l.rss, t.rss, "bytes");
  }
  return out;
}

interface Target {
  label: string;
  goal: number;
  pick: (e: Measured) => N;
}

function targets(rows: Measured[]): string[] {
  const list: Target[] = [
    {
      label: "decode ≥ 1.0× llama.cpp (short context)",
      goal: 1,
      pick: (e) => div(impValues(e).decShort, llamaValues(e).decShort),
    },
    {
      label: "decode ≥ 1.0× llama.cpp (after the image prompt)",
      goal: 1,
      pick: (e) => div(impValues(e).decImage, llamaValues(e).decImage),
    },
    {
      label: "prefill ≥ 0.5× llama.cpp",
      goal: 0.5,
      pick: (e) => div(impValues(e).prefill, llamaValues(e).prefill),
    },
    {
      label: "vision encode (729) ≥ 0.5× llama.cpp",
      goal: 0.5,
      pick: (e) => div(llamaValues(e).vision, impValues(e).vision),
    },
    {
      label: "vision encode (729) ≥ 2× PyTorch f32",
      goal: 2,
      pick: (e) => div(torchValues(e).vision, impValues(e).vision),
    },
    {
      label: "prefill ≥ 2× PyTorch f32",
      goal: 2,
      pick: (e) => div(impValues(e).prefill, torchValues(e).prefill),
    },
    {
      label: "decode ≥ 2× PyTorch f32 (short context)",
      goal: 2,
      pick: (e) => div(impValues(e).decShort, torchValues(e).decShort),
    },
    {
      label: "time to first token ≥ 2× PyTorch f32",
      goal: 2,
      pick: (e) => div(torchValues(e).ttft, impValues(e).ttft),
    },
  ];
  const out = ["| target | met | imp ÷ peer, worst … best |", "| --- | ---: | --- |"];
  for (const t of list) {
    const got = rows.map((e) => ({ e, v: t.pick(e) })).filter((x) => x.v !== null) as Array<{
      e: Measured;
      v: number;
    }>;
    if (got.length === 0) {
      out.push(`| ${t.label} | — | not measured |`);
      continue;
    }
    got.sort((a, b) => a.v - b.v);
    const met = got.filter((x) => x.v >= t.goal).length;
    const name = (x: { e: Measured; v: number }) =>
      `${ratio(x.v)} (${x.e.model.key} ${x.e.format} ${x.e.threads}t)`;
    out.push(`| ${t.label} | ${met} of ${got.length} | ${name(got[0]!)} … ${name(got[got.length - 1]!)} |`);
  }
  return out;
}

function profileLines(p: ChildResult | null): string[] {
  const prof = p?.ok
    ? (p.json?.profile as Record<string, Record<string, { ms: number; calls: number }>> | undefined)
    : undefined;
  if (!prof) return [];
  const out = ["", "Kernel time by phase (imp-ts, `--profile`; every backend call timed):", ""];
  for (const phase of ["vision", "prefill", "decode"]) {
    const d = prof[phase];
    if (!d) continue;
    const total = Object.values(d).reduce((a, x) => a + x.ms, 0);
    const top = Object.entries(d)
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 6)
      .map(([k, v]) => `${k} ${fmt(v.ms / 1000)} s (${pct(v.ms / total)}, ${v.calls} calls)`);
    out.push(`- ${phase}: ${fmt(total / 1000)} s in kernels — ${top.join("; ")}`);
  }
  return out;
}

export function render(input: ReportInput): string {
  const { machine: m, measured } = input;
  const first = measured.find((e) => e.imp?.ok)?.imp?.json;
  const llama = measured.find((e) => e.llama?.ok)?.llama?.json;
  const release = (llama?.release as { release?: string } | undefined)?.release;
  const bw = input.bandwidth;
  const peak = input.peak;
  const perThread = (x: Record<number, number> | string, unit: string) =>
    typeof x === "string"
      ? x
      : input.threads.map((t) => `${fmt(x[t] ?? null)} ${unit} (${t} thread${t > 1 ? "s" : ""})`).join(", ");
  const lines: string[] = [
    `Measured ${input.date.toISOString().slice(0, 16).replace("T", " ")} UTC by \`${input.command}\`${input.quick ? " (quick mode)" : ""}; ${fmt(input.totalSeconds / 60)} min (budget ${input.budgetMinutes} min).`,
    "",
    `- CPU: ${m.cpu}, ${m.cores} logical CPUs; ${m.simd}`,
    `- imp-ts: Node ${m.node}, V8 ${m.v8}; wasm backend${first ? ` (${(first.features as string[]).filter((f) => !f.startsWith("threads")).join(", ")})` : ""}`,
    `- llama.cpp: node-llama-cpp ${m.nodeLlamaCpp} prebuilt (llama.cpp ${release ?? "?"}, CPU), flash attention auto, ubatch 512${input.mtmd ? `; vision: llama-mtmd-cli (${input.mtmd}) on the same mmproj` : ""}`,
    `- PyTorch: ${input.torchVersion ? `${input.torchVersion} (Debian python3-torch), f32, ${input.torchBlas === "openblas" ? `OpenBLAS ${m.openblas ?? "(version unknown)"}` : (input.torchBlas ?? "BLAS unnamed")}` : "not measured"}`,
    `- Threads: ${input.threads.join(" and ")}. Read bandwidth (gcc ${m.gcc ?? "—"} -O3 -march=native, 1 GiB, median of 9): ${perThread(bw, "GB/s")}. Peak f32 GEMM (OpenBLAS sgemm 3072³ via torch.mm, best of 5): ${perThread(peak, "GFLOP/s")}.`,
    "",
    "What each measure is (all in a fresh process per configuration, first run — no warm-up pass — as a user's first request):",
    "",
    "- **load**: imp-ts reads the checkpoint into WebAssembly memory (q8/q4: the `imp quantize` copy, vision weights half precision); llama.cpp maps the GGUF (pages are read during the first evaluation); PyTorch reads the bf16 safetensors and widens to f32.",
    "- **vision encode**: SigLIP (the 26 layers Imp runs) + the mlp2x_gelu connector on one image; 729 tokens at 384 px, 196 tokens at 196 px (a variant checkpoint, Imp-v1.5-3B-196's tower). imp-ts's image preprocessing (PNG decode, bicubic resize, normalize) is its own row. llama.cpp: `llama-mtmd-cli`'s encode time on our F16 mmproj; PyTorch: random pixels.",
    "- **prefill**: the image embeddings plus 64 text tokens (793 positions for the real models) through the LLM with a KV cache, up to the first token's logits; llama.cpp has no image input, so it prefills the same number of text positions. Limit: peak ÷ (2 · LLM matrix parameters) per token (attention excluded).",
    "- **time to first token**: imp-ts measured (preprocessing + vision + prefill + first sample); llama.cpp and PyTorch: their vision encode + prefill.",
    "- **decode**: greedy tokens through each runtime's generation loop, one token per step, after an 8-token text prompt (short context) and after the image prompt. Limit: read bandwidth ÷ the weight bytes read per token (the LLM's matrices and LM head in that format; KV-cache reads not counted).",
    "- **peak RSS**: the process's maximum resident set (imp-ts: WebAssembly memory + Node).",
    `- Ratios are speed ratios imp-ts ÷ peer (> 1: imp-ts faster). † marks a run during which other processes kept more than ${BUSY} of a core busy on average (shared host).`,
    "- Weights are random (seeded) with the real shapes and names; speed does not depend on their values.",
    "",
    "### Summary",
    "",
    ...summary(measured, input),
    "",
    "### Targets",
    "",
    `Real-size models only${input.quick ? " (in quick mode: the slim model)" : ""}; each row counts the configurations (model × format × threads) where both sides were measured.`,
    "",
    ...targets(measured.filter(isReal)),
  ];
  const byModel = new Map<string, Measured[]>();
  for (const e of measured) byModel.set(e.model.key, [...(byModel.get(e.model.key) ?? []), e]);
  for (const [, rows] of byModel) {
    const bm = rows[0]!.model;
    lines.push("", `### ${bm.label}`, "");
    lines.push(...detail(rows, input));
    const errors = rows.flatMap((e) =>
      (
        [
          ["imp-ts", e.imp],
          ["llama.cpp", e.llama],
          ["PyTorch", e.torch],
          ["imp-ts 196", e.imp196],
          ["mtmd 729", e.mtmd729],
          ["mtmd 196", e.mtmd196],
        ] as const
      )
        .filter(([, r]) => r && !r.ok)
        .map(([who, r]) => `${who} ${e.format} ${e.threads}t: ${r!.error}`),
    );
    if (errors.length) lines.push("", ...[...new Set(errors)].map((x) => `- failed: ${x}`));
  }
  lines.push(...profileLines(input.profile));
  if (input.notes.length || input.skipped.length) {
    lines.push("", "### Notes and skips", "");
    for (const n of input.notes) lines.push(`- ${n}`);
    for (const s of input.skipped) lines.push(`- skipped: ${s}`);
  }
  return lines.join("\n");
}
