// The packed trainer against the per-sequence path it replaced (MultimodalModel.sequenceLoss, one sequence at a
// time): the same loss, the same gradients and the same parameters after a few AdamW steps, to rounding, on the
// tiny fixture model with a mixed batch (images and text-only, different lengths, cuts at max_length through text
// and through an image, an all-masked sequence), in micro-batches of a few sequences and in one pass, with and
// without the dense image-token signal (a head on the image tokens' final hidden states, per-token 0/1 labels).
//
// Tolerances: each row's forward is the same products as its own sequence's, but sums over rows are grouped
// differently (a weight's gradient is one product over all the micro-batch's rows instead of a sum of per-sequence
// products; the loss is one sum), so f32 sums of a few hundred terms differ in their last bits. Measured: at most
// 5e-7 of the largest value in a gradient tensor, 3e-8 relative on the loss; the bounds, 1e-5 and 1e-6, leave 20×
// room, while a real difference (a row attending across sequences, a wrong position or label) moves them by 1e-2
// and more. Parameters after AdamW: its first updates are ±lr·g/|g|, so an element whose
// gradient is at the rounding level in both paths may move by lr either way: they are compared within lr/10 in
// all but a few such elements.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { IMAGE_TOKEN_INDEX } from "../io/tokenizer/index.js";
import { loadModel } from "../models/load.js";
import type { MultimodalModel } from "../models/multimodal.js";
import { packedLoss } from "../models/packed-loss.js";
import { IGNORE_INDEX } from "../tensor/ops/loss.js";
import { tidy } from "../tensor/scope.js";
import { Tape } from "../tensor/tape.js";
import type { Tensor } from "../tensor/tensor.js";
import { fromF32 } from "../tensor/tensor.js";
import { testBackend } from "../testing/backends.js";
import { fixture } from "../testing/fixtures.js";
import { perSequenceBackward, perSequenceStep } from "../testing/per-sequence-step.js";
import { makeTinyBase } from "../testing/training-material.js";
import { Rng } from "../util/random.js";
import { AdamW } from "./adamw.js";
import type { PreparedExample } from "./encode.js";
import { countTargets } from "./encode.js";
import { ImageTokenHead } from "./image-token-head.js";
import type { TrainMode } from "./recipe.js";
import { makeSchedule } from "./schedule.js";
import { setupTrainable } from "./trainable.js";
import { labelledTokens, microBatches, Trainer } from "./trainer.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-packed-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const base = makeTinyBase(join(tmp, "base"));
const MAX_LENGTH = 40;
const SIDE = 56; // the fixture tower's: 16 image tokens

/** The mixed batch: token runs, labels on some, images where the prompt has a placeholder. */
function makeBatch(): PreparedExample[] {
  const rng = new Rng(11);
  const tokens = (n: number) => Array.from({ length: n }, () => 3 + rng.int(400));
  const img = () => Float32Array.from({ length: 3 * SIDE * SIDE }, () => rng.uniform(-1, 1));
  const ex = (parts: Array<number[] | "image">, labelFrom: number, where: string): PreparedExample => {
    const ids = parts.flatMap((p) => (p === "image" ? [IMAGE_TOKEN_INDEX] : p));
    const labels = ids.map((id, i) => (i >= labelFrom && id !== IMAGE_TOKEN_INDEX ? id : IGNORE_INDEX));
    const pixels = parts.includes("image") ? img() : null;
    // Per image token 0/1, a few ones (what the question names), on every image but one.
    const imageTokenLabels =
      pixels && where !== "image inside the prompt"
        ? Float32Array.from({ length: 16 }, () => (rng.int(4) === 0 ? 1 : 0))
        : null;
    return { ids, labels, pixels, imageTokenLabels, where, ...countTargets(ids, labels, 16, MAX_LENGTH) };
  };
  return [
    ex(["image", tokens(12)], 5, "image then an answer"),
    ex([tokens(9)], 4, "text only, short"),
    ex(["image", tokens(40)], 8, "cut at max_length in its text"),
    ex([tokens(14)], 99, "all masked"),
    ex([tokens(30), "image", tokens(6)], 20, "cut at max_length through its image"),
    ex([tokens(25)], 1, "text only, longer"),
    ex([tokens(6), "image", tokens(7)], 8, "image inside the prompt"),
  ];
}

async function setup(mode: TrainMode, withHead: boolean, headLayer: number | null = null) {
  const backend = await testBackend("wasm");
  const { model } = await loadModel(base, { backend, dtype: "auto" });
  const ts = setupTrainable(
    model,
    {
      mode,
      lora: { rank: 4, alpha: 8, dropout: 0, targetModules: "all-linear" },
      lr: 1e-3,
      connectorLr: 1e-3,
      weightDecay: 0.01,
    },
    new Rng(3),
  );
  model.setTraining(true);
  let head: ImageTokenHead | undefined;
  if (withHead) {
    head = new ImageTokenHead(backend, model.config.llm.hidden, 0.5, headLayer);
    // A head that is not zero, so its term's gradient reaches the model from the first step.
    const w = new Float32Array(backend.heap.buffer, head.weight.ptr, head.weight.numel);
    const rng = new Rng(7);
    for (let i = 0; i < w.length; i++) w[i] = rng.uniform(-0.5, 0.5);
  }
  const optimizer = new AdamW(head ? [...ts.groups, head.group(1e-3)] : ts.groups, {
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
  });
  return { model, optimizer, head };
}

/** The image-token term as the trainer gives it: 1 / (labelled image tokens in the batch, inside the cut). */
function imageTokenLoss(head: ImageTokenHead | undefined, ex: PreparedExample, labelled: number) {
  const labels = ex.imageTokenLabels;
  return head && labels ? (hidden: Tensor) => head.loss(hidden, labels, 1 / labelled) : undefined;
}

function image(model: MultimodalModel, ex: PreparedExample) {
  return ex.pixels ? [fromF32(model.backend, ex.pixels, [3, SIDE, SIDE])] : [];
}

/** The packed path, micro-batch by micro-batch, as the trainer runs it. */
function packedBackward(
  model: MultimodalModel,
  batch: readonly PreparedExample[],
  total: number,
  budget: number,
  head?: ImageTokenHead,
): number {
  let loss = 0;
  const labelled = batch.reduce((n, ex) => n + labelledTokens(ex, MAX_LENGTH), 0);
  for (const m of microBatches(batch, budget)) {
    const exs = m.indices.map((i) => batch[i]!).filter((ex) => ex.targets > 0);
    if (exs.length === 0) continue;
    loss += tidy(() => {
      const tape = new Tape();
      const seqs = exs.map((ex) => ({
        ids: ex.ids,
        labels: ex.labels,
        images: image(model, ex),
        imageTokenLoss: imageTokenLoss(head, ex, labelled),
      }));
      const r = tape.run(() => packedLoss(model, seqs, 1 / total, MAX_LENGTH, head?.layer ?? null));
      assert.deepEqual(
        r.tokens,
        exs.map((ex) => ex.targets),
      );
      assert.deepEqual(
        r.positions,
        exs.map((ex) => ex.positions),
      );
      tape.backward(r.loss);
      tape.dispose();
      return r.loss.toF32()[0]!;
    });
  }
  return loss;
}

function maxAbs(x: Float32Array): number {
  return x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

/**
 * The size a gradient's rounding is measured against: its own largest value, except for a key projection's bias,
 * whose gradient is zero in exact arithmetic (softmax ignores a constant added to a row's scores): both paths hold
 * only the rounding of sums of terms the size of the key weights' gradient, so that is its scale.
 */
function gradScale(name: string, grads: ReadonlyMap<string, Float32Array>): number {
  const own = maxAbs(grads.get(name)!);
  const weight = name.endsWith("k_proj.bias") ? grads.get(name.replace(/bias$/, "weight")) : undefined;
  return weight ? Math.max(own, maxAbs(weight)) : own;
}

describe("the packed trainer against the per-sequence path", () => {
  const batch = makeBatch();
  const total = batch.reduce((n, e) => n + e.targets, 0);

  test("micro-batches: consecutive runs within the budget, a longer sequence alone, masked ones riding along", () => {
    const ex = (positions: number, targets = 1) => ({ positions, targets }) as PreparedExample;
    const mbs = microBatches([ex(30), ex(20), ex(15, 0), ex(60), ex(10), ex(5), ex(45)], 50);
    assert.deepEqual(
      mbs.map((m) => m.indices),
      [[0, 1, 2], [3], [4, 5], [6]],
    );
    assert.deepEqual(
      mbs.map((m) => m.positions),
      [50, 60, 15, 45],
    );
  });

  test("the batch has every kind of sequence the test needs", () => {
    const w = (s: string) => batch.find((e) => e.where === s)!;
    assert.equal(w("all masked").targets, 0);
    assert.equal(w("cut at max_length in its text").positions, MAX_LENGTH);
    // 30 text rows, then only 10 of the image's 16 (and of its image-token labels).
    assert.equal(w("cut at max_length through its image").positions, MAX_LENGTH);
    assert.ok(w("cut at max_length through its image").imageTokenLabels);
    assert.equal(w("image inside the prompt").imageTokenLabels, null);
    assert.ok(new Set(batch.map((e) => e.positions)).size >= 5, "different lengths");
    // A budget of 60 rows packs 2–3 sequences per pass; each micro-batch is checked as the trainer forms it.
    assert.ok(microBatches(batch, 60).length >= 3);
  });

  for (const [mode, withHead, headLayer] of [
    ["full", false, null],
    ["lora", false, null],
    ["lora", true, null],
    // The head on the first decoder layer's output: the layers above it get no gradient from its term.
    ["lora", true, 0],
  ] as const)
    for (const budget of [60, 4096])
      test(`${mode}${withHead ? ` + image-token head${headLayer === null ? "" : ` on layer ${headLayer}`}` : ""}, micro-batches of ≤ ${budget} rows: the same loss and gradients`, async () => {
        const { model, optimizer, head } = await setup(mode, withHead, headLayer);
        optimizer.zeroGrad();
        const lossRef = perSequenceBackward(model, batch, { maxLength: MAX_LENGTH, imageTokenHead: head });
        const ref = optimizer.params().map((p) => ({ name: p.name, g: p.tensor.grad!.toF32() }));
        const refByName = new Map(ref.map((r) => [r.name, r.g]));
        optimizer.zeroGrad();
        const loss = packedBackward(model, batch, total, budget, head);
        assert.ok(Math.abs(loss - lossRef) <= 1e-6 * lossRef, `loss ${loss} vs ${lossRef}`);
        let checked = 0;
        for (const [i, p] of optimizer.params().entries()) {
          const g = p.tensor.grad?.toF32();
          const { name, g: r } = ref[i]!;
          assert.equal(p.name, name);
          assert.ok(g, `${name} has a gradient`);
          const scale = gradScale(name, refByName);
          if (scale === 0) {
            // LoRA's A starts with B = 0: no gradient in either path.
            assert.equal(maxAbs(g), 0, `${name}: zero in the per-sequence path`);
            continue;
          }
          let worst = 0;
          for (let k = 0; k < g.length; k++) worst = Math.max(worst, Math.abs(g[k]! - r[k]!));
          assert.ok(worst <= 1e-5 * scale, `${name}: max |Δ| ${worst} against max |g| ${scale}`);
          checked++;
        }
        assert.ok(checked >= 10, `${checked} gradients compared`);
        if (head) {
          // The term is there: without it the loss differs.
          optimizer.zeroGrad();
          assert.ok(Math.abs(packedBackward(model, batch, total, budget) - loss) > 1e-3);
          head.dispose();
        }
        model.dispose();
      });

  test("full + image-token head: the same parameters after three AdamW steps", async () => {
    const steps = 3;
    const schedule = makeSchedule("cosine", steps, 0);
    const a = await setup("full", true);
    const trainer = new Trainer(a.model, a.optimizer, schedule, {
      maxGradNorm: 1,
      maxLength: MAX_LENGTH,
      microBatchPositions: 60,
      imageTokenHead: a.head,
    });
    const b = await setup("full", true);
    const before = new Map(a.model.namedParameters().map(([n, p]) => [n, p.value.toF32()]));
    for (let s = 0; s < steps; s++) {
      const r = trainer.step(s, batch);
      const ref = perSequenceStep(b.model, b.optimizer, schedule, s, batch, {
        maxLength: MAX_LENGTH,
        maxGradNorm: 1,
        imageTokenHead: b.head,
      }).loss;
      assert.ok(Math.abs(r.loss - ref) <= 1e-6 * ref, `step ${s}: loss ${r.loss} vs ${ref}`);
    }
    const lr = 1e-3;
    const others = new Map(b.model.namedParameters().map(([n, p]) => [n, p.value.toF32()]));
    let moved = 0;
    let off = 0;
    let elements = 0;
    for (const [n, p] of a.model.namedParameters()) {
      const x = p.value.toF32();
      const y = others.get(n)!;
      const x0 = before.get(n)!;
      for (let k = 0; k < x.length; k++) {
        if (x[k] !== x0[k]) moved++;
        if (Math.abs(x[k]! - y[k]!) > lr / 10) off++;
      }
      elements += x.length;
    }
    assert.ok(moved > elements / 10, `${moved} of ${elements} parameters moved`);
    assert.ok(off <= elements * 1e-4, `${off} of ${elements} parameters differ by more than lr/10`);
    const [ha, hb] = [a.head!.weight.toF32(), b.head!.weight.toF32()];
    assert.ok(
      ha.every((v, k) => Math.abs(v - hb[k]!) <= lr / 10),
      "the image-token heads agree",
    );
    for (const x of [a, b]) {
      x.head!.dispose();
      x.model.dispose();
    }
  });
});

describe("packedLoss on every fixture family", () => {
  // Phi-2 (LayerNorm, partial rotary, parallel attention and MLP), Phi-3, Qwen2, and LLaVA-1.5's CLIP tower (a
  // class token, images one at a time): the loss and every parameter's gradient as Σ sequenceLoss gives them.
  for (const name of ["tiny-imp-phi2", "tiny-imp-phi3", "tiny-llava15"])
    test(name, async () => {
      const backend = await testBackend("wasm");
      const { model } = await loadModel(fixture(name), { backend, dtype: "f32" });
      const params = model.namedParameters();
      for (const [, p] of params) p.value.requiresGrad = true;
      const side = model.config.vision!.imageSize;
      const rng = new Rng(17);
      const tokens = (n: number) => Array.from({ length: n }, () => 3 + rng.int(400));
      const img = () =>
        fromF32(
          backend,
          Float32Array.from({ length: 3 * side * side }, () => rng.uniform(-1, 1)),
          [3, side, side],
        );
      const n = model.imageTokens;
      const seqs = [
        { ids: [IMAGE_TOKEN_INDEX, ...tokens(10)], images: [img()] },
        { ids: tokens(12), images: [] },
        { ids: [...tokens(MAX_LENGTH - n / 2), IMAGE_TOKEN_INDEX, ...tokens(5)], images: [img()] },
        { ids: [...tokens(4), IMAGE_TOKEN_INDEX, ...tokens(9)], images: [img()] },
      ].map((s) => ({
        ...s,
        labels: s.ids.map((id, i) => (i > 2 && id !== IMAGE_TOKEN_INDEX ? id : IGNORE_INDEX)),
      }));
      const grads = (run: () => number) => {
        for (const [, p] of params) p.value.grad = null;
        const loss = run();
        return { loss, g: params.map(([, p]) => p.value.grad?.toF32() ?? null) };
      };
      const backward = (f: () => { loss: import("../tensor/tensor.js").Tensor }) =>
        tidy(() => {
          const tape = new Tape();
          const r = tape.run(f);
          tape.backward(r.loss);
          tape.dispose();
          return r.loss.toF32()[0]!;
        });
      const ref = grads(() =>
        seqs.reduce(
          (sum, s) => sum + backward(() => model.sequenceLoss(s.ids, s.labels, s.images, 0.1, MAX_LENGTH)),
          0,
        ),
      );
      const got = grads(() => backward(() => packedLoss(model, seqs, 0.1, MAX_LENGTH)));
      assert.ok(Math.abs(got.loss - ref.loss) <= 1e-6 * ref.loss, `loss ${got.loss} vs ${ref.loss}`);
      let compared = 0;
      const refByName = new Map(
        params.flatMap(([pname], i) => (ref.g[i] ? [[pname, ref.g[i]!] as [string, Float32Array]] : [])),
      );
      params.forEach(([pname], i) => {
        const [g, r] = [got.g[i], ref.g[i]];
        if (!r) {
          assert.equal(g, null, `${pname}: no gradient in the per-sequence path`);
          return;
        }
        assert.ok(g, `${pname} has a gradient`);
        const scale = gradScale(pname, refByName);
        let worst = 0;
        for (let k = 0; k < g.length; k++) worst = Math.max(worst, Math.abs(g[k]! - r[k]!));
        assert.ok(worst <= 1e-5 * scale, `${pname}: max |Δ| ${worst} against max |g| ${scale}`);
        compared++;
      });
      assert.ok(compared > params.length / 2, `${compared} of ${params.length} gradients compared`);
      for (const s of seqs) for (const im of s.images) im.dispose();
      model.dispose();
    });
});
