/**
 * `imp train` and `imp merge` as a user runs them, on a tiny model and a generated LLaVA-format dataset: stage 1
 * then stage 2 from the shipped recipes scaled down with --set, merged, loaded and generating; a run killed with
 * SIGKILL and resumed ends with the same weights as one never interrupted; bad records stop the run naming file and
 * line, or are skipped and counted with --skip-bad; a run is not overwritten or resumed with other settings.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Checkpoint } from "../../io/safetensors/index.js";
import { runCli } from "../../testing/cli.js";
import { repoRoot } from "../../testing/fixtures.js";
import { makeTinyBase, writeTinyDataset } from "../../testing/training-material.js";
import { readMetrics } from "../../train/metrics.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-train-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const base = makeTinyBase(join(tmp, "base"));
const data = writeTinyDataset(join(tmp, "data"), 8);
writeFileSync(join(tmp, "stage1.yaml"), "sources:\n  - { path: data/captions.json, images: data/images }\n");
writeFileSync(join(tmp, "stage2.yaml"), "sources:\n  - { path: data/chats.jsonl, images: data/images }\n");

const STAGE1 = join(repoRoot, "recipes/imp-stage1.json");
const STAGE2 = join(repoRoot, "recipes/imp-stage2-lora.json");
/** The shipped recipes, scaled down. */
const small = (output: string, data: string, extra: string[] = []) => [
  ...["--set", `base=${base}`, "--set", `data=${join(tmp, data)}`, "--set", `output=${join(tmp, output)}`],
  ...["--set", "global_batch=3", "--set", "max_length=256", "--set", "save_every=2", "--threads", "2"],
  ...extra.flatMap((e) => ["--set", e]),
];
const lora = ["lora.rank=4", "lora.alpha=8", "connector_init=base"];

const bytes = (f: string) => readFileSync(f);

describe("imp train / imp merge", () => {
  test("stage 1 then stage 2 from the shipped recipes, merge, and the merged model loads and generates", async () => {
    const r1 = await runCli(["train", STAGE1, ...small("s1", "stage1.yaml", ["max_steps=4", "lr=1e-2"])]);
    assert.equal(r1.code, 0, r1.stderr);
    const s1 = join(tmp, "s1");
    for (const f of [
      "mm_projector.safetensors",
      "metrics.jsonl",
      "curve.svg",
      "train_config.json",
      "mixture.resolved.json",
      "run.json",
    ])
      assert.ok(existsSync(join(s1, f)), f);
    assert.match(r1.stderr, /training connector: .* 8 examples, global batch 3, 4 steps/);
    assert.match(r1.stderr, /step 4\/4 .* loss \d+\.\d+ lr .* tok\/s ETA/);
    const m1 = readMetrics(join(s1, "metrics.jsonl"));
    assert.deepEqual(
      m1.map((m) => m.step),
      [1, 2, 3, 4],
    );
    assert.equal(m1[0]!.lr, 0, "cosine warmup: the first step has lr 0, as Hugging Face's");
    assert.match(readFileSync(join(s1, "curve.svg"), "utf8"), /^<svg [\s\S]*<polyline[\s\S]*<\/svg>\n$/);
    const mix = JSON.parse(readFileSync(join(s1, "mixture.resolved.json"), "utf8")) as {
      sources: Array<{ ids: string[] }>;
    };
    assert.equal(mix.sources[0]!.ids.length, 8);
    assert.equal(JSON.parse(readFileSync(join(s1, "train_config.json"), "utf8")).connector_init, "random");

    // Stage 2 starts from stage 1's connector (its folder), trains LoRA + connector for the recipe's 2 epochs.
    const r2 = await runCli([
      "train",
      STAGE2,
      ...small("s2", "stage2.yaml", [...lora, `connector_init=${s1}`]),
    ]);
    assert.equal(r2.code, 0, r2.stderr);
    const s2 = join(tmp, "s2");
    assert.match(r2.stderr, /training lora: .* 10 examples, global batch 3, 8 steps \(4\/epoch\)/);
    // The stage-2 recipe groups batches by modality, as Imp's; the tiny set has both kinds.
    assert.match(r2.stderr, /batches grouped by modality \(8 with an image, 2 text-only\)/);
    const cfg = JSON.parse(readFileSync(join(s2, "adapter_config.json"), "utf8")) as Record<string, unknown>;
    assert.equal(cfg.peft_type, "LORA");
    assert.equal(cfg.r, 4);
    assert.equal(cfg.lora_alpha, 8);
    assert.ok((cfg.target_modules as string[]).includes("lm_head"));
    const ad = Checkpoint.open(join(s2, "adapter_model.safetensors"));
    assert.ok(ad.has("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"));
    ad.close();
    // Stage 2 started its connector from stage 1's (run.test.ts checks the loading itself) and trained it on.
    assert.equal(JSON.parse(readFileSync(join(s2, "train_config.json"), "utf8")).connector_init, s1);
    assert.ok(
      !bytes(join(s2, "mm_projector.safetensors")).equals(bytes(join(s1, "mm_projector.safetensors"))),
    );

    const merged = join(tmp, "merged");
    const rm = await runCli(["merge", "--base", base, "--adapter", s2, "--out", merged, "--threads", "2"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, /merged 15 LoRA module\(s\) and the connector/);
    assert.ok(existsSync(join(merged, "tokenizer.json")) && existsSync(join(merged, "config.json")));
    const run = await runCli([
      "run",
      "--model",
      merged,
      "--image",
      join(data.images, "sq0.png"),
      "--max-tokens",
      "4",
      "--json",
      "What color?",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { generatedTokens: number; imageTokens: number };
    assert.equal(out.generatedTokens, 4);
    assert.equal(out.imageTokens, 16);
  });

  test("a run killed with SIGKILL mid-run and resumed ends with the same weights as an uninterrupted one", async () => {
    // LoRA dropout on, so the restored RNG matters; 7 steps, checkpoints every 2; the kill comes in step 6.
    const args = (out: string) => [
      "train",
      STAGE2,
      ...small(out, "stage2.yaml", [...lora, "max_steps=7", "lr=1e-2"]),
    ];
    const whole = await runCli(args("whole"));
    assert.equal(whole.code, 0, whole.stderr);

    const killed = await new Promise<{ stderr: string; signal: string | null }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", join(repoRoot, "src/cli/main.ts"), ...args("killed")],
        {
          cwd: repoRoot,
          env: { ...process.env, IMP_TRAIN_TEST_HANG: "5:1" },
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes("imp-train: test hang")) child.kill("SIGKILL");
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
      child.on("error", reject);
      child.on("close", (_code, signal) => {
        clearTimeout(timer);
        resolve({ stderr, signal });
      });
    });
    assert.equal(killed.signal, "SIGKILL", killed.stderr);
    const k = join(tmp, "killed");
    assert.ok(!existsSync(join(k, "adapter_model.safetensors")), "killed before the end");
    assert.deepEqual(
      readdirSync(join(k, "checkpoints")).filter((f) => !f.startsWith(".")),
      ["step-000002", "step-000004"],
    );
    assert.equal(
      readMetrics(join(k, "metrics.jsonl")).length,
      5,
      "step 5 was logged after the last checkpoint",
    );
    appendFileSync(join(k, "metrics.jsonl"), '{"step": 6, "lo'); // and a line cut short

    const fresh = await runCli(args("killed"));
    assert.equal(fresh.code, 1);
    assert.match(fresh.stderr, /already holds checkpoints .* pass --resume/);
    const changed = await runCli([...args("killed"), "--resume", "--set", "lr=5e-3"]);
    assert.equal(changed.code, 1);
    assert.match(changed.stderr, /cannot resume .*step-000004: lr was 0\.01, now 0\.005/);
    const regrouped = await runCli([
      ...args("killed"),
      "--resume",
      "--set",
      "group_by_modality_length=false",
    ]);
    assert.equal(regrouped.code, 1);
    assert.match(regrouped.stderr, /cannot resume .*step-000004: groupByModalityLength was true, now false/);
    // A checkpoint written before the key existed counts as a run without grouping.
    const stateFile = join(k, "checkpoints", "step-000004", "state.json");
    const state = readFileSync(stateFile, "utf8");
    const legacy = JSON.parse(state) as { fingerprint: Record<string, unknown> };
    delete legacy.fingerprint.groupByModalityLength;
    writeFileSync(stateFile, JSON.stringify(legacy));
    const old = await runCli([...args("killed"), "--resume"]);
    assert.equal(old.code, 1);
    assert.match(old.stderr, /cannot resume .*step-000004: groupByModalityLength was false, now true/);
    writeFileSync(stateFile, state);

    const resumed = await runCli([...args("killed"), "--resume"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming from .*step-000004 \(step 4 of 7\)/);
    const w = join(tmp, "whole");
    for (const f of ["adapter_model.safetensors", "mm_projector.safetensors"])
      assert.ok(bytes(join(k, f)).equals(bytes(join(w, f))), `${f}: resumed and uninterrupted runs differ`);
    const pick = (d: string) =>
      readMetrics(join(d, "metrics.jsonl")).map((m) => [m.step, m.loss, m.lr, m.grad_norm]);
    assert.deepEqual(pick(k), pick(w));
  });

  test("bad records stop the run naming file and line; --skip-bad skips and counts them", async () => {
    const file = join(tmp, "data", "bad.jsonl");
    writeFileSync(join(data.images, "broken.png"), "\x89PNG\r\n\x1a\nnot really");
    const good = readFileSync(data.chats, "utf8").trim().split("\n").slice(0, 4);
    const conv = [
      { from: "human", value: "<image>\nQ" },
      { from: "gpt", value: "A" },
    ];
    writeFileSync(
      file,
      [
        ...good,
        "{not json",
        JSON.stringify({ id: "nogpt", conversations: [conv[0]] }),
        JSON.stringify({ id: "gone", image: "missing.png", conversations: conv }),
        JSON.stringify({ id: "broken", image: "broken.png", conversations: conv }),
      ].join("\n"),
    );
    writeFileSync(join(tmp, "bad.yaml"), "sources:\n  - { path: data/bad.jsonl, images: data/images }\n");
    const strict = await runCli(["train", STAGE2, ...small("bad1", "bad.yaml", [...lora, "max_steps=2"])]);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /3 bad record\(s\)/);
    assert.ok(strict.stderr.includes(`${file}:5: malformed JSON`), strict.stderr);
    assert.ok(strict.stderr.includes(`${file}:6 (id "nogpt"): no assistant ("gpt") turn`), strict.stderr);
    assert.ok(strict.stderr.includes(`${file}:7 (id "gone"): image`), strict.stderr);
    assert.match(strict.stderr, /--skip-bad/);

    // The unreadable image is found when its batch is prepared (or up front with validate_images).
    const skip = await runCli([
      "train",
      STAGE2,
      ...small("bad2", "bad.yaml", [...lora, "global_batch=5", "max_steps=1"]),
      "--skip-bad",
    ]);
    assert.equal(skip.code, 0, skip.stderr);
    assert.match(skip.stderr, /skipping 3 bad record\(s\)/);
    assert.ok(skip.stderr.includes(`skipped bad record: ${file}:8: unreadable image`), skip.stderr);
    const summary = JSON.parse(readFileSync(join(tmp, "bad2", "run.json"), "utf8")) as {
      skippedRecords: number;
    };
    assert.equal(summary.skippedRecords, 4);
    assert.equal(readMetrics(join(tmp, "bad2", "metrics.jsonl"))[0]!.skipped, 1);

    const imageOnly = join(tmp, "data", "bad-image.jsonl");
    writeFileSync(
      imageOnly,
      [...good, JSON.stringify({ id: "broken", image: "broken.png", conversations: conv })].join("\n"),
    );
    writeFileSync(
      join(tmp, "bad-image.yaml"),
      "sources:\n  - { path: data/bad-image.jsonl, images: data/images }\n",
    );
    const stop = await runCli([
      "train",
      STAGE2,
      ...small("bad3", "bad-image.yaml", [...lora, "global_batch=5", "max_steps=1"]),
    ]);
    assert.equal(stop.code, 1);
    assert.ok(stop.stderr.includes(`${imageOnly}:5: unreadable image`), stop.stderr);
    assert.match(stop.stderr, /--skip-bad/);
  });
});
