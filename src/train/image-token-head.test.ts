// The dense image-token signal: boxes carried onto the tower's patch grid, the records' named_boxes checked, and a
// question-first run whose head learns which tokens show the named square, resumes bit for bit, and is never
// exported; with the image first the run refuses.
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { encode } from "fast-png";
import { siglipSpec } from "../io/image/processor.js";
import { Checkpoint, writeSafetensors } from "../io/safetensors/index.js";
import { binaryCrossEntropySum } from "../tensor/ops/index.js";
import { tidy } from "../tensor/scope.js";
import { fromF32 } from "../tensor/tensor.js";
import { testBackend } from "../testing/backends.js";
import { makeTinyBase } from "../testing/training-material.js";
import { UsageError } from "../util/errors.js";
import { Rng } from "../util/random.js";
import { boxInTowerInput, labelsForBoxes } from "./image-token-labels.js";
import { mergeAdapter } from "./merge.js";
import { readMetrics } from "./metrics.js";
import { resolveRecipe } from "./recipe.js";
import { readRecords } from "./records.js";
import { runTraining } from "./run.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-itl-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const ones = (l: Float32Array) => [...l.keys()].filter((i) => l[i] === 1);

describe("image-token labels", () => {
  test("a box marks the patches it covers by a quarter or more, and always its centre's", () => {
    // 4 × 4 grid: the top-left quarter is patches 0, 1, 4, 5.
    assert.deepEqual(ones(labelsForBoxes([[0, 0, 0.5, 0.5]], 16)), [0, 1, 4, 5]);
    // Covers a fifth of patch 6's width: below the quarter, so only 5 (its centre lies there).
    assert.deepEqual(ones(labelsForBoxes([[0.3, 0.3, 0.55, 0.45]], 16)), [5]);
    // A box far smaller than a patch still marks the patch under its centre.
    assert.deepEqual(ones(labelsForBoxes([[0.9, 0.9, 0.91, 0.91]], 16)), [15]);
    assert.deepEqual(ones(labelsForBoxes([], 16)), []);
    assert.throws(() => labelsForBoxes([[0, 0, 1, 1]], 15), UsageError);
  });

  test("boxes follow the processor: a pad to a square moves them, a squash does not", () => {
    assert.deepEqual(boxInTowerInput([0, 0, 1, 1], 200, 100, siglipSpec(56, "pad")), [0, 0.25, 1, 0.75]);
    assert.deepEqual(boxInTowerInput([0.5, 0, 1, 0.5], 200, 100, siglipSpec(56, "square")), [0.5, 0, 1, 0.5]);
  });

  test("binary cross-entropy: log 2 per element at zero logits, scaled", async () => {
    const backend = await testBackend("wasm");
    tidy(() => {
      const z = fromF32(backend, [0, 0, 0, 0], [4, 1]);
      const v = binaryCrossEntropySum(z, Float32Array.from([1, 0, 1, 0]), 0.5).toF32()[0]!;
      assert.ok(Math.abs(v - 2 * Math.LN2) < 1e-6, `${v}`);
    });
  });

  test("named_boxes are checked, naming the field and what was expected", () => {
    const dir = join(tmp, "records");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "a.png"), png(56, 0, new Rng(1)));
    const conv = [
      { from: "human", value: "What color is the square?\n<image>" },
      { from: "gpt", value: "red" },
    ];
    const file = join(dir, "r.jsonl");
    writeFileSync(
      file,
      [
        { id: "ok", image: "a.png", conversations: conv, named_boxes: [[0, 0, 0.5, 0.5]] },
        { id: "flipped", image: "a.png", conversations: conv, named_boxes: [[0.5, 0, 0.2, 1]] },
        { id: "pixels", image: "a.png", conversations: conv, named_boxes: [[0, 0, 12, 30]] },
        {
          id: "no-image",
          conversations: [{ from: "human", value: "What color is the square?" }, conv[1]!],
          named_boxes: [],
        },
      ]
        .map((r) => JSON.stringify(r))
        .join("\n"),
    );
    const { records, bad } = readRecords(file, dir);
    assert.deepEqual(records[0]!.namedBoxes, [[0, 0, 0.5, 0.5]]);
    assert.deepEqual(
      bad.map((b) => b.id),
      ["flipped", "pixels", "no-image"],
    );
    assert.match(bad[0]!.reason, /named_boxes\[0\].*0 ≤ x0 < x1 ≤ 1/);
    assert.match(bad[2]!.reason, /named_boxes.*without an image/);
  });
});

/** A 56-px grey image with a red square filling cell `cell` of the tower's 4 × 4 grid (14-px patches). */
function png(size: number, cell: number, rng: Rng): Uint8Array {
  const data = new Uint8Array(size * size * 3);
  const [r0, c0] = [Math.floor(cell / 4) * 14, (cell % 4) * 14];
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const inside = y >= r0 && y < r0 + 14 && x >= c0 && x < c0 + 14;
      const rgb = inside ? [220, 30, 30] : [128, 128, 128];
      for (let c = 0; c < 3; c++) data[(y * size + x) * 3 + c] = rgb[c]! + rng.int(5) - 2;
    }
  return encode({ width: size, height: size, data, channels: 3, depth: 8 });
}

describe("a run with the dense image-token signal", () => {
  const rng = new Rng(7);
  const images = join(tmp, "images");
  mkdirSync(images, { recursive: true });
  const records: unknown[] = [];
  for (let i = 0; i < 12; i++) {
    const cell = rng.int(16);
    writeFileSync(join(images, `s${i}.png`), png(56, cell, rng));
    const [x0, y0] = [(cell % 4) / 4, Math.floor(cell / 4) / 4];
    records.push({
      id: `s${i}`,
      image: `s${i}.png`,
      conversations: [
        { from: "human", value: "Where is the red square?\n<image>" },
        { from: "gpt", value: "There." },
      ],
      named_boxes: [[x0, y0, x0 + 0.25, y0 + 0.25]],
    });
  }
  const data = join(tmp, "squares.json");
  writeFileSync(data, JSON.stringify(records));
  const questionFirst = makeTinyBase(join(tmp, "base-qf"));
  const cfg = join(questionFirst, "config.json");
  writeFileSync(
    cfg,
    JSON.stringify({ ...JSON.parse(readFileSync(cfg, "utf8")), mm_image_placement: "after_text" }),
  );
  const imageFirst = makeTinyBase(join(tmp, "base-if"));

  const recipe = (base: string, output: string, extra: Record<string, unknown> = {}) =>
    resolveRecipe(
      {
        stage: 2,
        base,
        output: join(tmp, output),
        data: { sources: [{ path: data, images }] },
        global_batch: 4,
        max_steps: 30,
        lr: 5e-3,
        connector_lr: 5e-3,
        max_length: 256,
        lora: { rank: 4, alpha: 8, dropout: 0 },
        warmup_ratio: 0,
        schedule: "constant",
        image_token_loss: 1,
        save_every: 15,
        keep_checkpoints: 3,
        ...extra,
      },
      "test",
    );
  const quiet = { write: () => true };

  test("the head learns which tokens show the named square; it is checkpointed, never exported", async () => {
    const backend = await testBackend("wasm");
    await runTraining(recipe(questionFirst, "qf"), { backend, sink: quiet });
    const m = readMetrics(join(tmp, "qf", "metrics.jsonl"));
    const itl = m.map((s) => s.image_token_loss ?? Number.NaN);
    assert.ok(itl.every(Number.isFinite), `image_token_loss logged every step: ${itl}`);
    // The first step's term is log 2 (a zero head); after a few steps it has learnt that one token in 16 is named
    // (below the base rate's entropy, 0.234 nats) and, from the pixels, which.
    assert.ok(Math.abs(itl[0]! - Math.LN2) < 1e-3, `first step ${itl[0]}`);
    const last = itl.slice(-5).reduce((a, b) => a + b, 0) / 5;
    assert.ok(last < 0.05, `image-token loss ${itl.map((v) => v.toFixed(3)).join(" ")}`);
    const ck = await Checkpoint.open(join(tmp, "qf", "checkpoints", "step-000030", "trainable.safetensors"));
    assert.ok(ck.names().includes("image_token_head.weight"));
    const adapter = await Checkpoint.open(join(tmp, "qf", "adapter_model.safetensors"));
    assert.ok(
      !adapter.names().some((n: string) => n.includes("image_token_head")),
      adapter.names().join(", "),
    );
    // A mid-run checkpoint merges as the run's outputs do, the head left out.
    const fromOutputs = join(tmp, "merged-outputs");
    const fromCheckpoint = join(tmp, "merged-checkpoint");
    mergeAdapter({ base: questionFirst, adapter: join(tmp, "qf"), out: fromOutputs, backend });
    const final = join(tmp, "qf", "checkpoints", "step-000030");
    mergeAdapter({ base: questionFirst, adapter: final, out: fromCheckpoint, backend });
    const a = readFileSync(join(fromOutputs, "model.safetensors"));
    assert.ok(a.equals(readFileSync(join(fromCheckpoint, "model.safetensors"))));
  });

  test("on the first decoder layer's output (image_token_layer) the head learns as well; a layer the LLM lacks is refused", async () => {
    const backend = await testBackend("wasm");
    await runTraining(recipe(questionFirst, "qf-layer0", { image_token_layer: 0 }), { backend, sink: quiet });
    const itl = readMetrics(join(tmp, "qf-layer0", "metrics.jsonl")).map(
      (s) => s.image_token_loss ?? Number.NaN,
    );
    const last = itl.slice(-5).reduce((a, b) => a + b, 0) / 5;
    assert.ok(last < 0.05, `image-token loss ${itl.map((v) => v.toFixed(3)).join(" ")}`);
    // Not the final layer's run: the head reads other states, so the runs differ.
    const final = readMetrics(join(tmp, "qf", "metrics.jsonl")).map((s) => s.image_token_loss);
    assert.notDeepEqual(itl, final);
    await assert.rejects(
      runTraining(recipe(questionFirst, "qf-layer9", { image_token_layer: 9 }), { backend, sink: quiet }),
      /image_token_layer = 9: the base's LLM has \d+ layers \(0–\d+\)/,
    );
  });

  test("the head is written beside the outputs, and a later run starts from it instead of from zeros", async () => {
    const backend = await testBackend("wasm");
    const saved = join(tmp, "qf", "image_token_head.safetensors");
    const ck = Checkpoint.open(saved);
    assert.deepEqual(ck.names().sort(), ["image_token_head.bias", "image_token_head.weight"]);
    ck.close();
    // At rate 0 the head stays as loaded: the first step's term is already the earlier run's, far below log 2.
    await runTraining(
      recipe(questionFirst, "qf-init", {
        image_token_head_init: join(tmp, "qf"),
        lr: 0,
        connector_lr: 0,
        max_steps: 2,
        connector_init: join(tmp, "qf"),
      }),
      { backend, sink: quiet },
    );
    const first = readMetrics(join(tmp, "qf-init", "metrics.jsonl"))[0]!.image_token_loss!;
    assert.ok(first < 0.3, `first step ${first} (a zero head: ${Math.LN2.toFixed(3)})`);
    assert.ok(readFileSync(join(tmp, "qf-init", "image_token_head.safetensors")).equals(readFileSync(saved)));
    // Errors name the key, the file and what was expected.
    await assert.rejects(
      runTraining(recipe(questionFirst, "qf-init-none", { image_token_head_init: join(tmp, "nowhere") }), {
        backend,
        sink: quiet,
      }),
      /image_token_head_init: .*nowhere.*image_token_head\.safetensors/,
    );
    await assert.rejects(
      runTraining(
        recipe(questionFirst, "qf-init-off", { image_token_head_init: join(tmp, "qf"), image_token_loss: 0 }),
        { backend, sink: quiet },
      ),
      /image_token_head_init = .* needs the dense image-token signal \(image_token_loss > 0\)/,
    );
    const wrong = join(tmp, "wrong-head.safetensors");
    writeSafetensors(wrong, [
      { name: "image_token_head.weight", dtype: "F32", shape: [1, 3], data: () => new Uint8Array(12) },
      { name: "image_token_head.bias", dtype: "F32", shape: [1], data: () => new Uint8Array(4) },
    ]);
    await assert.rejects(
      runTraining(recipe(questionFirst, "qf-init-wrong", { image_token_head_init: wrong }), {
        backend,
        sink: quiet,
      }),
      /wrong-head\.safetensors: "image_token_head\.weight" is F32 \[1,3\]; this model's head needs F32 \[1,\d+\]/,
    );
  });

  test("a killed run resumes with the head's state: the same weights bit for bit", async () => {
    const backend = await testBackend("wasm");
    cpSync(join(tmp, "qf"), join(tmp, "qf-resumed"), { recursive: true });
    rmSync(join(tmp, "qf-resumed", "checkpoints", "step-000030"), { recursive: true });
    await runTraining(recipe(questionFirst, "qf-resumed"), { backend, sink: quiet, resume: true });
    for (const f of ["adapter_model.safetensors", "mm_projector.safetensors"]) {
      const a = readFileSync(join(tmp, "qf", f));
      const b = readFileSync(join(tmp, "qf-resumed", f));
      assert.ok(a.equals(b), `${f} differs after resuming`);
    }
  });

  test("with the image before the question the run refuses, saying why", async () => {
    const backend = await testBackend("wasm");
    await assert.rejects(
      runTraining(recipe(imageFirst, "if"), { backend, sink: quiet }),
      (e: Error) => e instanceof UsageError && /mm_image_placement.*after_text/.test(e.message),
    );
    assert.ok(!existsSync(join(tmp, "if", "checkpoints")));
  });
});
