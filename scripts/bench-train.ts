/**
 * Training throughput: tokens/s of full fine-tuning steps (forward, backward, clipping, AdamW) of a
 * small Qwen2-style model — the tiny-imp-qwen2 fixture's config scaled to hidden 256, 4 layers — in imp-ts and in
 * PyTorch on the CPU (Debian's python3-torch, installed here if absent and allowed), on the same random f32
 * weights, the same sequences, global batch and thread count, side by side in one run. PyTorch runs with our own
 * small reference script (scripts/bench-train-torch.py), batched [B, T] as PyTorch trains best, and one sequence at
 * a time as imp-ts did before it packed a batch's sequences into one pass (src/models/packed-loss.ts). The initial losses of both must agree (same model). The machine may be shared, so the two
 * alternate over a few rounds and each keeps its fastest step. Writes docs/benchmarks.md's "Training throughput"
 * section.
 *
 * Usage: npm run bench:train -- [--threads N] [--batch 8] [--seq 256] [--steps 4] [--rounds 3] [--no-write]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../src/backend/registry.js";
import { loadModel } from "../src/models/load.js";
import { writeRandomCheckpoint } from "../src/models/random.js";
import { tidy } from "../src/tensor/scope.js";
import { fixture, repoRoot } from "../src/testing/fixtures.js";
import { AdamW } from "../src/train/adamw.js";
import type { PreparedExample } from "../src/train/encode.js";
import { makeSchedule } from "../src/train/schedule.js";
import { setupTrainable } from "../src/train/trainable.js";
import { Trainer } from "../src/train/trainer.js";
import { Rng } from "../src/util/random.js";
import { findTorch } from "./bench/limits.js";
import { replaceSection } from "./docs-section.js";
import { helpFromHeader } from "./help.js";

helpFromHeader(import.meta.url);

const PYTHON = "/usr/bin/python3";

const { values: args } = parseArgs({
  options: {
    threads: { type: "string", default: String(availableParallelism()) },
    batch: { type: "string", default: "8" },
    seq: { type: "string", default: "256" },
    steps: { type: "string", default: "4" },
    rounds: { type: "string", default: "3" },
    "no-write": { type: "boolean", default: false },
  },
});
const threads = Number(args.threads);
const B = Number(args.batch);
const T = Number(args.seq);
const steps = Number(args.steps);
const rounds = Number(args.rounds);
const LR = 1e-4;

/** Debian's PyTorch on OpenBLAS (scripts/bench/limits.ts installs what is missing where it may); null when ready. */
function ensureTorch(): string | null {
  const t = findTorch((line) => console.error(line));
  if (t.python && t.python !== PYTHON) return `PyTorch found at ${t.python}, but this bench runs ${PYTHON}'s`;
  return t.python ? null : (t.why ?? "PyTorch not found");
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "imp-bench-train-"));
  try {
    const fixtureConfig = JSON.parse(
      readFileSync(fixture("tiny-imp-qwen2", "config.json"), "utf8"),
    ) as Record<string, unknown>;
    const config: Record<string, unknown> = {
      ...fixtureConfig,
      hidden_size: 256,
      intermediate_size: 512,
      num_hidden_layers: 4,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: Math.max(1024, T),
      tokenizer_model_max_length: Math.max(1024, T),
    };
    writeRandomCheckpoint(config, dir, { seed: 1, dtype: "f32" });
    const vocab = config.vocab_size as number;
    const rng = new Rng(7);
    // Ids below image_token_index (500), which the model would take for an image placeholder.
    const seqs = Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(500)));

    // ── imp-ts ──
    const backend = await createBackend("wasm", { threads });
    const { model } = await loadModel(dir, { backend, dtype: "f32" });
    const total = B * (T - 1);
    const initLoss = tidy(() =>
      seqs.reduce((s, ids) => s + model.sequenceLoss(ids, ids, [], 1 / total).loss.toF32()[0]!, 0),
    );
    const setup = setupTrainable(
      model,
      {
        mode: "full",
        lora: { rank: 1, alpha: 1, dropout: 0, targetModules: "all-linear" },
        lr: LR,
        connectorLr: LR,
        weightDecay: 0,
      },
      rng,
    );
    const params = setup.groups
      .flatMap((g) => g.params)
      .filter((p) => !p.name.startsWith("model.mm_projector"))
      .reduce((n, p) => n + p.tensor.numel, 0);
    model.setTraining(true);
    const trainer = new Trainer(
      model,
      new AdamW(setup.groups, { beta1: 0.9, beta2: 0.999, eps: 1e-8 }),
      makeSchedule("constant", steps + 1, 0),
      { maxGradNorm: 1, maxLength: T },
    );
    const batch: PreparedExample[] = seqs.map((ids, i) => ({
      ids,
      labels: ids,
      pixels: null,
      imageTokenLabels: null,
      targets: T - 1,
      positions: T,
      where: `seq ${i}`,
    }));
    /** One round of imp-ts: `steps` timed steps; the fastest (other processes only ever slow a step down). */
    let step = 0;
    const oursRound = (): number => {
      const ms: number[] = [];
      for (let s = 0; s < steps; s++) ms.push(trainer.step(step++, batch).ms);
      return (B * T) / (Math.min(...ms) / 1000);
    };
    trainer.step(step++, batch); // warm-up

    // ── PyTorch ──
    type TorchResult = {
      torch: string;
      threads: number;
      blas: string;
      init_loss: number;
      batched_tokens_per_s: number;
      sequential_tokens_per_s: number;
    };
    const why = ensureTorch();
    if (why) console.log(`PyTorch skipped: ${why}`);
    const spec = join(dir, "spec.json");
    writeFileSync(
      spec,
      JSON.stringify({
        checkpoint: dir,
        threads,
        steps,
        lr: LR,
        sequences: seqs,
        config: {
          heads: 4,
          kv_heads: 2,
          head_dim: 64,
          layers: 4,
          eps: config.rms_norm_eps,
          rope_theta: config.rope_theta,
        },
      }),
    );
    const torchRound = (): TorchResult => {
      const r = spawnSync(PYTHON, [join(repoRoot, "scripts/bench-train-torch.py"), spec], {
        encoding: "utf8",
      });
      if (r.status !== 0) throw new Error(`the PyTorch reference failed:\n${r.stderr}`);
      const t = JSON.parse(r.stdout.trim().split("\n").pop()!) as TorchResult;
      if (Math.abs(t.init_loss - initLoss) > 1e-3 * Math.abs(initLoss))
        throw new Error(
          `initial losses differ (${initLoss} vs ${t.init_loss}): the two sides do not run the same model`,
        );
      return t;
    };

    // Rounds alternate between the two, and each keeps its best: a burst of load elsewhere hits one round only.
    let ours = 0;
    let torch: TorchResult | null = null;
    for (let round = 1; round <= rounds; round++) {
      const o = oursRound();
      ours = Math.max(ours, o);
      let line = `round ${round}: imp-ts ${o.toFixed(0)} tokens/s`;
      if (!why) {
        const t = torchRound();
        torch = torch
          ? {
              ...t,
              batched_tokens_per_s: Math.max(torch.batched_tokens_per_s, t.batched_tokens_per_s),
              sequential_tokens_per_s: Math.max(torch.sequential_tokens_per_s, t.sequential_tokens_per_s),
            }
          : t;
        line +=
          `, PyTorch ${t.torch} (${t.blas}) batched ${t.batched_tokens_per_s.toFixed(0)}, ` +
          `one sequence at a time ${t.sequential_tokens_per_s.toFixed(0)}`;
      }
      console.log(line);
    }
    model.dispose();
    backend.dispose();
    console.log(
      `initial loss: imp-ts ${initLoss.toFixed(5)}${torch ? `, PyTorch ${torch.init_loss.toFixed(5)}` : ""}`,
    );

    const rows = [
      "| run | tokens/s | imp-ts ÷ it |",
      "| --- | ---: | ---: |",
      `| imp-ts (wasm, ${threads} threads, sequences packed, as the trainer runs them) | ${ours.toFixed(0)} | 1.00 |`,
    ];
    if (torch) {
      rows.push(
        `| PyTorch ${torch.torch} (${torch.blas}, ${torch.threads} threads, batched [${B}, ${T}]) | ${torch.batched_tokens_per_s.toFixed(0)} | ${(ours / torch.batched_tokens_per_s).toFixed(2)} |`,
        `| PyTorch ${torch.torch} (${torch.blas}, ${torch.threads} threads, one sequence at a time) | ${torch.sequential_tokens_per_s.toFixed(0)} | ${(ours / torch.sequential_tokens_per_s).toFixed(2)} |`,
      );
    }
    const body = [
      `Full fine-tuning steps (forward, backward, gradient clipping, AdamW; f32) of a Qwen2-style LLM: hidden 256, ` +
        `4 layers, 4 heads (2 KV), MLP 512, vocabulary ${vocab} (${(params / 1e6).toFixed(2)} M parameters), ` +
        `global batch ${B} sequences of ${T} tokens; the fastest step of ${rounds} rounds × ${steps} steps after a warm-up step, rounds alternating between the two. Same random weights ` +
        `and sequences on both sides; initial loss imp-ts ${initLoss.toFixed(5)}` +
        (torch ? `, PyTorch ${torch.init_loss.toFixed(5)}.` : "."),
      "",
      ...rows,
      "",
      torch
        ? `Ratio (imp-ts ÷ PyTorch batched): **${(ours / torch.batched_tokens_per_s).toFixed(2)}**. PyTorch is ` +
          `Debian's python3-torch, which calls the system's libblas.so.3 (here ${torch.blas}; the bench installs ` +
          "OpenBLAS with it, since the reference BLAS Debian otherwise selects is about 15× slower)."
        : "PyTorch was not available for this run.",
      "",
      `Machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${threads} thread(s); Node ${process.version}; ` +
        `${new Date().toISOString().slice(0, 10)}. Reproduce: \`npm run bench:train -- --threads ${threads}\`.`,
    ].join("\n");
    console.log(`\n${body}`);
    if (!args["no-write"]) {
      replaceSection(join(repoRoot, "docs/benchmarks.md"), "Training throughput", body);
      console.log("\nwrote docs/benchmarks.md (## Training throughput)");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
