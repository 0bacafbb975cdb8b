/**
 * A job cancelled in the middle of a long prefill stops within a layer, not after the pass: the worker reads the
 * job's cancel flag (shared memory) before every layer, since its event loop sees no "abort" message while it
 * computes. A random-weight Qwen2 Imp big enough that one prefill takes a second or two; the bound is relative to
 * the same run's uncancelled pass, so a slow machine scales both.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { writeRandomCheckpoint } from "../../models/random.js";
import { fixture } from "../../testing/fixtures.js";
import { writeTinyTokenizer } from "../../testing/tiny-tokenizer.js";
import type { EngineJob } from "./engine.js";
import { WorkerEngine } from "./worker-engine.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-cancel-"));
let engine: WorkerEngine;

before(async () => {
  const dir = join(tmp, "model");
  const base = JSON.parse(readFileSync(fixture("tiny-imp-qwen2", "config.json"), "utf8")) as Record<
    string,
    unknown
  >;
  writeRandomCheckpoint(
    {
      ...base,
      hidden_size: 384,
      intermediate_size: 1024,
      num_hidden_layers: 8,
      num_attention_heads: 6,
      num_key_value_heads: 2,
      max_position_embeddings: 2048,
    },
    dir,
    { seed: 3, dtype: "f32" },
  );
  writeTinyTokenizer(dir, "imp_qwen2");
  engine = await WorkerEngine.start({
    folder: dir,
    backend: "wasm",
    threads: 1,
    id: "cancel",
    log: () => {},
  });
});
after(async () => {
  await engine?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const job: EngineJob = {
  messages: [{ role: "user", content: "x ".repeat(400) }],
  maxNewTokens: 1,
  sampling: { temperature: 0 },
  stop: [],
};
const hooks = (signal: AbortSignal) => ({ signal, onText: () => {} });

test("a job cancelled inside a long prefill stops within a layer; the worker takes the next job", async () => {
  const t0 = performance.now();
  const whole = await engine.run(job, hooks(new AbortController().signal));
  const pass = performance.now() - t0;
  assert.equal(whole.stats.generatedTokens, 1);
  assert.ok(whole.stats.prefillPositions > 700, `${whole.stats.prefillPositions} positions`);

  const controller = new AbortController();
  const pending = engine.run(job, hooks(controller.signal));
  await sleep(pass * 0.3);
  const cancelledAt = performance.now();
  controller.abort();
  const cancelled = await pending;
  const latency = performance.now() - cancelledAt;
  assert.equal(cancelled.finishReason, "abort");
  assert.equal(cancelled.stats.generatedTokens, 0);
  // Uncancellable, the pass would run on for about 0.7 × `pass`; one layer of eight is about 0.12 × `pass`.
  assert.ok(
    latency < pass * 0.4,
    `stopped ${latency.toFixed(0)} ms after the cancel; a whole pass takes ${pass.toFixed(0)} ms`,
  );

  const next = await engine.run(job, hooks(new AbortController().signal));
  assert.equal(next.stats.generatedTokens, 1);
});
