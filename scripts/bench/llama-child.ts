/**
 * llama.cpp (the prebuilt of node-llama-cpp, CPU only) on the exported GGUF, in a fresh process, driven by
 * scripts/bench.ts. Prints one JSON line. Its generation loop is measured the way ours is: `sequence.evaluate`
 * with greedy sampling yields the first token after the prefill (the prompt in one call, ubatch 512 as
 * llama-bench), then one token per single-token evaluation. node-llama-cpp has no image input, so the prompt is
 * the same number of text positions as ours (image tokens + text tokens).
 *
 *   node --import tsx scripts/bench/llama-child.ts '{"gguf":…,"threads":2,"prompt":793,"decode":128,…}'
 */
import { getLlama, LlamaLogLevel, type Token } from "node-llama-cpp";

interface Spec {
  gguf: string;
  threads: number;
  /** Prefill positions (image tokens + text tokens in our run). */
  prompt: number;
  shortPrompt: number;
  decode: number;
  vocab: number;
  flashAttention: boolean | "auto";
  batchSize: number;
}

const spec = JSON.parse(process.argv[2]!) as Spec;
const now = () => performance.now();

function ids(n: number, vocab: number, salt: number): Token[] {
  const hi = Math.min(vocab - 64, 30000);
  const lo = Math.min(256, Math.floor(hi / 4));
  return Array.from({ length: n }, (_, i) => (lo + ((i * 7919 + salt * 104729) % (hi - lo))) as Token);
}

const t0 = now();
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: spec.gguf });
const loadMs = now() - t0;
const context = await model.createContext({
  contextSize: spec.prompt + spec.decode + 16,
  batchSize: spec.batchSize,
  threads: spec.threads,
  flashAttention: spec.flashAttention,
  sequences: 1,
});
const sequence = context.getSequence();

/** Runs a prompt then decodes; returns prefill ms (to the first token) and the decode ms of `decode` tokens. */
async function generate(prompt: Token[]): Promise<{ prefillMs: number; decodeMs: number; tokens: number }> {
  await sequence.clearHistory();
  const t = now();
  let first = 0;
  let n = 0;
  for await (const _ of sequence.evaluate(prompt, { temperature: 0 })) {
    if (n === 0) first = now();
    if (++n > spec.decode) break;
  }
  return { prefillMs: first - t, decodeMs: now() - first, tokens: n - 1 };
}

const long = await generate(ids(spec.prompt, spec.vocab, 1));
const short = await generate(ids(spec.shortPrompt, spec.vocab, 2));
const result = {
  release: llama.llamaCppRelease,
  buildType: llama.buildType,
  systemInfo: llama.systemInfo,
  threads: spec.threads,
  flashAttention: context.flashAttention,
  batchSize: context.batchSize,
  loadMs,
  prefillMs: long.prefillMs,
  prefillPositions: spec.prompt,
  decodeImageMs: long.decodeMs,
  decodeImageTokens: long.tokens,
  decodeShortMs: short.decodeMs,
  decodeShortTokens: short.tokens,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  cpuMs: (process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime) / 1000,
};
await context.dispose();
await model.dispose();
await llama.dispose();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
