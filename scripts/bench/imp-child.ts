/**
 * One imp-ts measurement in a fresh process (so peak RSS and first-call costs are this configuration's own),
 * driven by scripts/bench.ts. Prints one JSON line.
 *
 *   node --import tsx scripts/bench/imp-child.ts '{"dir":…,"dtype":"q4","threads":2,"image":…,"mode":"full",…}'
 *
 * mode "full": load → image preprocessing + vision encode + prefill of [image, 64 text tokens] + decode through
 *   the engine's own generation loop (generateTokens, greedy) → a second generation from an 8-token text prompt
 *   for decode at short context.
 * mode "text": the same without the image (a model whose vision tower does not fit beside the LLM): the prefill
 *   prompt is `textTokens` text tokens.
 * mode "vision": load → preprocessing + vision encode only (the 196-token variant).
 * With "profile", every backend call is timed and summed per kernel and phase (vision, prefill, decode).
 */
import type { Backend, GemmArgs } from "../../src/backend/backend.js";
import { WeightFormat } from "../../src/backend/backend.js";
import { createBackend } from "../../src/backend/registry.js";
import { IMAGE_TOKEN_INDEX } from "../../src/io/tokenizer/index.js";
import { VISION_PREFIX } from "../../src/models/layout.js";
import type { WeightDType } from "../../src/models/load.js";
import { generateTokens } from "../../src/runtime/generate.js";
import { ImpPipeline } from "../../src/runtime/pipeline.js";

interface Spec {
  dir: string;
  dtype: WeightDType;
  visionDtype?: WeightDType;
  threads: number;
  image: string;
  mode: "full" | "text" | "vision";
  textTokens: number;
  decodeTokens: number;
  shortPrompt: number;
  profile?: boolean;
}

const spec = JSON.parse(process.argv[2]!) as Spec;
const now = () => performance.now();

// ── optional per-kernel profile ────────────────────────────────────────────────────────────────────────────
type Phase = "load" | "vision" | "prefill" | "decode";
let phase: Phase = "load";
const profile: Record<string, Record<string, { ms: number; calls: number }>> = {};
const FORMAT = Object.fromEntries(Object.entries(WeightFormat).map(([k, v]) => [v, k])) as Record<
  number,
  string
>;

function label(name: string, args: unknown[]): string {
  if (name === "gemm") {
    const g = args[0] as GemmArgs;
    if (g.batch > 1) return "gemm attention (f32, per head)";
    return `gemm ${FORMAT[g.bFormat]} weights (m=${g.m > 64 ? ">64" : g.m})`;
  }
  if (name === "linearQuant")
    return `linearQuant ${FORMAT[args[2] as number]} (m=${(args[5] as number) > 64 ? ">64" : args[5]})`;
  if (name === "linearDot") return `${name} ${FORMAT[args[2] as number]}`;
  if (name === "convert") return `convert ${FORMAT[args[1] as number]}→${FORMAT[args[3] as number]}`;
  return name;
}

/** The Backend interface's forward kernels (not the backend's internal helpers, which they call). */
const KERNELS = [
  "fill",
  "copyStrided",
  "convert",
  "add",
  "mul",
  "scale",
  "axpy",
  "activation",
  "swiglu",
  "sumRows",
  "rowSums",
  "sumSquares",
  "layerNorm",
  "rmsNorm",
  "softmax",
  "rope",
  "embedding",
  "patchify",
  "gemm",
  "linearDot",
  "linearQuant",
];

function instrument(be: Backend): void {
  const target = be as unknown as Record<string, unknown>;
  for (const name of KERNELS) {
    const fn = target[name];
    if (typeof fn !== "function") continue;
    target[name] = (...args: unknown[]) => {
      const t0 = now();
      const r = (fn as (...a: unknown[]) => unknown).apply(be, args);
      const p = (profile[phase] ??= {});
      const e = (p[label(name, args)] ??= { ms: 0, calls: 0 });
      e.ms += now() - t0;
      e.calls++;
      return r;
    };
  }
}

// ── the measurement ───────────────────────────────────────────────────────────────────────────────────────
/** Deterministic ordinary-token ids (no specials): the same prompt in every run. */
function textIds(n: number, vocab: number, salt: number): number[] {
  const hi = Math.min(vocab - 64, 30000);
  const lo = Math.min(256, Math.floor(hi / 4));
  return Array.from({ length: n }, (_, i) => lo + ((i * 7919 + salt * 104729) % (hi - lo)));
}

const t0 = now();
const backend = await createBackend("wasm", { threads: spec.threads });
if (spec.profile) instrument(backend);
const imp = await ImpPipeline.load(spec.dir, { backend, dtype: spec.dtype, visionDtype: spec.visionDtype });
const loadMs = now() - t0;
const model = imp.model;
const cfg = model.config;
if (spec.profile) {
  // generateTokens encodes the image, then prefills: mark the boundary between the two phases.
  const encode = model.encodeImage.bind(model);
  model.encodeImage = (px) => {
    phase = "vision";
    const r = encode(px);
    phase = "prefill";
    return r;
  };
}

// Weight bytes by part, as they sit in memory.
const bytes = { vision: 0, embed: 0, lmHead: 0, llm: 0 };
let llmMatrixParams = 0;
const formats = new Set<string>();
for (const [name, p] of model.namedParameters()) {
  const t = p.value;
  if (name.startsWith(VISION_PREFIX) || name.startsWith("model.mm_projector")) bytes.vision += t.byteLength;
  else if (name.startsWith("model.embed_tokens")) bytes.embed += t.byteLength;
  else if (name.startsWith("lm_head")) bytes.lmHead += t.byteLength;
  else {
    bytes.llm += t.byteLength;
    if (t.ndim === 2) {
      llmMatrixParams += t.numel;
      formats.add(t.dtype);
    }
  }
}

const result: Record<string, unknown> = {
  threads: backend.threads,
  features: backend.features,
  loadMs,
  imageTokens: model.imageTokens,
  weightBytes: bytes,
  llmMatrixParams,
  llmFormats: [...formats],
  heapAfterLoad: backend.heap.used,
};

phase = "vision";
const tv = now();
const px = spec.mode === "text" ? null : await imp.prepareImage(spec.image);
const prepMs = now() - tv;
if (spec.mode === "vision") {
  const te = now();
  const e = model.encodeImage(px!);
  result.visionMs = now() - te;
  result.prepMs = prepMs;
  e.features.dispose();
  e.embeds.dispose();
} else {
  phase = "prefill";
  const ids = px
    ? [IMAGE_TOKEN_INDEX, ...textIds(spec.textTokens, cfg.llm.vocab, 1)]
    : textIds(spec.textTokens, cfg.llm.vocab, 1);
  const run = generateTokens(model, ids, {
    images: px ? [px] : [],
    maxNewTokens: spec.decodeTokens + 1,
    sampling: { temperature: 0 },
  });
  let ttft = 0;
  let n = 0;
  for await (const _ of run.tokens) {
    if (n++ === 0) {
      ttft = now() - tv;
      phase = "decode";
    }
  }
  const s = run.stats;
  Object.assign(result, {
    prepMs: px ? prepMs : 0,
    visionMs: s.visionMs,
    prefillMs: s.prefillMs,
    prefillPositions: s.prefillPositions,
    ttftMs: ttft,
    decodeImageMs: s.decodeMs,
    decodeImageTokens: s.generatedTokens - 1,
    contextAfterImage: s.prefillPositions + s.generatedTokens,
  });
  // Decode at short context: a fresh cache, an 8-token prompt.
  phase = "prefill";
  const short = generateTokens(model, textIds(spec.shortPrompt, cfg.llm.vocab, 2), {
    maxNewTokens: spec.decodeTokens + 1,
    sampling: { temperature: 0 },
  });
  n = 0;
  for await (const _ of short.tokens) if (n++ === 0) phase = "decode";
  result.decodeShortMs = short.stats.decodeMs;
  result.decodeShortTokens = short.stats.generatedTokens - 1;
}
px?.dispose();
const usage = process.resourceUsage();
result.peakRssBytes = usage.maxRSS * 1024;
result.cpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000;
result.peakHeapBytes = backend.heap.peak;
if (spec.profile) result.profile = profile;
imp.dispose();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
