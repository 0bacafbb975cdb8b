/** `imp run`: ask a model about an image; the answer streams to stdout. */
import type { Command } from "commander";
import type { ModelCliOptions } from "../common.js";
import {
  addImageTokensOption,
  addModelOptions,
  nonNegativeNumber,
  positiveInt,
  resolveModelOption,
} from "../common.js";

interface RunOptions extends ModelCliOptions {
  image?: string;
  system?: string;
  maxTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  seed?: number;
  json?: boolean;
  imageTokens?: number;
}

export function register(program: Command): void {
  const cmd = program
    .command("run")
    .description("answer a prompt about an image with a model (streams the answer to stdout)")
    .argument("<prompt>", "the question or instruction")
    .option("-i, --image <file>", "image file (PNG, JPEG, WebP, GIF)")
    .option("--system <text>", "system message (default: the model's template system prompt)")
    .option("--max-tokens <n>", "most new tokens", positiveInt("--max-tokens"), 256)
    .option("--temperature <t>", "sampling temperature; 0 = greedy", nonNegativeNumber("--temperature"), 0)
    .option("--top-k <k>", "sample among the k most likely tokens", positiveInt("--top-k"))
    .option("--top-p <p>", "sample from the smallest set with this probability mass", Number)
    .option("--repetition-penalty <r>", "penalise repeated tokens (> 1)", Number)
    .option("--seed <n>", "random seed for sampling", (v) => Number.parseInt(v, 10))
    .option("--json", "print one JSON object: the answer, token counts and timings");
  addImageTokensOption(addModelOptions(cmd)).addHelpText(
    "after",
    '\nExamples:\n  imp run --image examples/shapes.png "How many red circles are there?"\n' +
      '  imp run --model MILVLG/Imp-v1.5-3B-Phi2 --dtype q4 --image photo.jpg "What is in the picture?"',
  );
  cmd.action(async (prompt: string, o: RunOptions) => {
    const { ImpPipeline } = await import("../../runtime/pipeline.js");
    const { folder, visionTower } = await resolveModelOption(o);
    const t0 = performance.now();
    const imp = await ImpPipeline.load(folder, {
      dtype: o.dtype,
      visionDtype: o.visionDtype,
      kvDtype: o.kvDtype,
      visionTower,
      backend: o.backend,
      threads: o.threads,
      imageTokens: o.imageTokens,
    });
    const loadMs = performance.now() - t0;
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once("SIGINT", onSigint);
    try {
      const messages = [
        ...(o.system !== undefined ? [{ role: "system" as const, content: o.system }] : []),
        { role: "user" as const, content: prompt },
      ];
      let text = "";
      let stats: import("../../runtime/generate.js").GenerationStats | null = null;
      const stream = imp.stream(
        {
          image: o.image,
          messages,
          maxNewTokens: o.maxTokens,
          sampling: {
            temperature: o.temperature,
            topK: o.topK,
            topP: o.topP,
            repetitionPenalty: o.repetitionPenalty,
            seed: o.seed,
          },
          signal: abort.signal,
        },
        (s) => {
          stats = s;
        },
      );
      for await (const piece of stream) {
        text += piece;
        if (!o.json) process.stdout.write(piece);
      }
      const s = stats as import("../../runtime/generate.js").GenerationStats | null;
      if (o.json) {
        const rss = process.resourceUsage().maxRSS * 1024;
        process.stdout.write(
          `${JSON.stringify(
            {
              answer: text,
              model: folder,
              backend: imp.backend.name,
              threads: imp.backend.threads,
              promptTokens: s?.promptTokens,
              imageTokens: s?.imageTokens,
              prefillPositions: s?.prefillPositions,
              generatedTokens: s?.generatedTokens,
              finishReason: s?.finishReason,
              loadMs: round(loadMs),
              visionEncodeMs: round(s?.visionMs ?? 0),
              prefillMs: round(s?.prefillMs ?? 0),
              prefillTokensPerSecond: s ? round((s.prefillPositions / s.prefillMs) * 1000) : null,
              decodeTokensPerSecond:
                s && s.generatedTokens > 1 ? round(((s.generatedTokens - 1) / s.decodeMs) * 1000) : null,
              peakRssBytes: rss,
              peakHeapBytes: imp.backend.heap.peak,
            },
            null,
            2,
          )}\n`,
        );
      } else process.stdout.write("\n");
    } finally {
      process.off("SIGINT", onSigint);
      imp.dispose();
    }
  });
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
