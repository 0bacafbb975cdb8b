// The trainer on a tiny model: a tiny batch overfits to near-zero loss (LoRA and full), the connector-only mode
// leaves the LLM untouched, and the step is deterministic.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { qwen2Template } from "../io/template/index.js";
import { Tokenizer } from "../io/tokenizer/index.js";
import { loadModel } from "../models/load.js";
import { testBackend } from "../testing/backends.js";
import { makeTinyBase } from "../testing/training-material.js";
import { Rng } from "../util/random.js";
import { AdamW } from "./adamw.js";
import type { PreparedExample } from "./encode.js";
import { Encoder } from "./encode.js";
import type { TrainMode } from "./recipe.js";
import type { DataRecord } from "./records.js";
import { makeSchedule } from "./schedule.js";
import { setupTrainable } from "./trainable.js";
import { Trainer } from "./trainer.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-trainer-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const base = makeTinyBase(join(tmp, "base"));

async function setup(mode: TrainMode, lr: number) {
  const backend = await testBackend("wasm");
  const { model } = await loadModel(base, { backend, dtype: "auto" });
  const tok = await Tokenizer.fromFolder(base);
  const rng = new Rng(3);
  const ts = setupTrainable(
    model,
    {
      mode,
      lora: { rank: 8, alpha: 16, dropout: 0, targetModules: "all-linear" },
      lr,
      connectorLr: lr,
      weightDecay: 0,
    },
    rng,
  );
  model.setTraining(true);
  const enc = new Encoder({
    tokenizer: tok,
    template: qwen2Template,
    imageSpec: null,
    imageTokens: 16,
    imagePlacement: "before_text",
    maxLength: 256,
  });
  const rec = (id: string, q: string, a: string): DataRecord => ({
    id,
    image: null,
    where: id,
    conversations: [
      { from: "human", value: q },
      { from: "gpt", value: a },
    ],
  });
  const batch: PreparedExample[] = await Promise.all([
    enc.encode(rec("a", "Name a color.", "the red one")),
    enc.encode(rec("b", "And a shape?", "a green square")),
  ]);
  // One example with an image: random pixels of the fixture tower's size.
  const px = Float32Array.from({ length: 3 * 56 * 56 }, () => rng.uniform(-1, 1));
  const withImage = enc.tokenize({ ...rec("c", "<image>\nWhat is it?", "blue"), image: "x.png" });
  batch.push({ ...withImage, pixels: px, imageTokenLabels: null, targets: 0, positions: 0, where: "c" });
  const { countTargets } = await import("./encode.js");
  Object.assign(batch[2]!, countTargets(withImage.ids, withImage.labels, model.imageTokens, 256));
  const optimizer = new AdamW(ts.groups, { beta1: 0.9, beta2: 0.999, eps: 1e-8 });
  return { model, batch, optimizer, ts };
}

describe("trainer", () => {
  for (const [mode, lr, steps] of [
    ["lora", 1e-2, 40],
    ["full", 3e-3, 30],
  ] as const)
    test(`${mode}: a tiny batch overfits to near-zero loss`, async () => {
      const { model, batch, optimizer } = await setup(mode, lr);
      const trainer = new Trainer(model, optimizer, makeSchedule("constant", steps, 0), {
        maxGradNorm: 1,
        maxLength: 256,
      });
      const losses: number[] = [];
      for (let s = 0; s < steps; s++) losses.push(trainer.step(s, batch).loss);
      model.dispose();
      assert.ok(losses[0]! > 3, `starts near ln(512): ${losses[0]}`);
      assert.ok(
        losses[steps - 1]! < 0.05,
        `final loss ${losses[steps - 1]} (losses ${losses.map((l) => l.toFixed(3))})`,
      );
    });

  test("connector mode trains only the connector; the same step twice gives the same bits", async () => {
    const runs: Float32Array[] = [];
    for (let k = 0; k < 2; k++) {
      const { model, batch, optimizer, ts } = await setup("connector", 1e-3);
      const names = ts.groups.flatMap((g) => g.params.map((p) => p.name));
      assert.ok(names.length === 4 && names.every((n) => n.startsWith("model.mm_projector.")), names.join());
      const before = Object.fromEntries(model.namedParameters().map(([n, p]) => [n, p.value.toF32()]));
      const trainer = new Trainer(model, optimizer, makeSchedule("cosine", 3, 0), {
        maxGradNorm: 1,
        maxLength: 256,
      });
      for (let s = 0; s < 3; s++) trainer.step(s, batch);
      for (const [n, p] of model.namedParameters()) {
        const now = p.value.toF32();
        const same = before[n]!.every((v, i) => v === now[i]);
        assert.equal(same, !n.startsWith("model.mm_projector."), `${n} ${same ? "unchanged" : "changed"}`);
      }
      runs.push(
        model
          .namedParameters()
          .find(([n]) => n === "model.mm_projector.0.weight")![1]
          .value.toF32(),
      );
      model.dispose();
    }
    assert.deepEqual(runs[0], runs[1]);
  });
});
