/**
 * The training graph of a whole (tiny) model: the loss's gradients through vision tower → connector → splice →
 * decoder → LM head, checked by finite differences; LoRA with B = 0 equals the base model; a merged adapter
 * equals the unmerged one.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IMAGE_TOKEN_INDEX } from "../io/tokenizer/index.js";
import { Linear } from "../nn/layers.js";
import type { LoraAdapter } from "../nn/lora.js";
import * as F from "../tensor/ops/index.js";
import { keep, tidy } from "../tensor/scope.js";
import { Tape } from "../tensor/tape.js";
import type { Tensor } from "../tensor/tensor.js";
import { fromF32 } from "../tensor/tensor.js";
import { TEST_BACKENDS, testBackend } from "../testing/backends.js";
import { fixture } from "../testing/fixtures.js";
import { Rng } from "../util/random.js";
import { loadModel } from "./load.js";
import type { MultimodalModel } from "./multimodal.js";

async function setup(backendName: "js" | "wasm") {
  const backend = await testBackend(backendName);
  const { model } = await loadModel(fixture("tiny-imp-qwen2"), { backend, dtype: "f32" });
  const rng = new Rng(5);
  const px = fromF32(
    backend,
    Float32Array.from({ length: 3 * 56 * 56 }, () => rng.uniform(-1, 1)),
    [3, 56, 56],
  );
  const ids = [5, 17, IMAGE_TOKEN_INDEX, 40, 41, 42, 43, 44, 45];
  const labels = [-100, -100, -100, -100, -100, 42, 43, 44, 45];
  return { backend, model, px, ids, labels, rng };
}

function loss(model: MultimodalModel, px: Tensor, ids: number[], labels: number[]): number {
  return tidy(() => model.sequenceLoss(ids, labels, [px], 1 / 4).loss.toF32()[0]!);
}

describe("whole-model training graph", () => {
  for (const name of TEST_BACKENDS)
    test(`${name}: gradients of connector, LLM weights and LoRA match finite differences`, async () => {
      const { model, px, ids, labels, rng } = await setup(name);
      const params = Object.fromEntries(model.namedParameters());
      const qProj = model.llm.layers.items[1]!.self_attn.q_proj;
      const lora = qProj.attachLora({ rank: 4, alpha: 8, dropout: 0 }, rng);
      lora.init(model.backend);
      // Make B non-zero so A's gradient is non-zero too.
      lora.B.value = keep(
        fromF32(
          model.backend,
          Float32Array.from({ length: lora.B.value.numel }, () => rng.normal() * 0.1),
          lora.B.shape,
        ),
      );
      const trainable: Array<[string, Tensor]> = [
        ["model.mm_projector.0.weight", params["model.mm_projector.0.weight"]!.value],
        ["model.mm_projector.2.bias", params["model.mm_projector.2.bias"]!.value],
        ["model.layers.0.mlp.down_proj.weight", params["model.layers.0.mlp.down_proj.weight"]!.value],
        ["model.layers.0.input_layernorm.weight", params["model.layers.0.input_layernorm.weight"]!.value],
        ["model.embed_tokens.weight", params["model.embed_tokens.weight"]!.value],
        ["lora_A", lora.A.value],
        ["lora_B", lora.B.value],
      ];
      for (const [, t] of trainable) t.requiresGrad = true;
      const tape = new Tape();
      const l0 = tidy(() =>
        tape.run(() => {
          const { loss: l, tokens } = model.sequenceLoss(ids, labels, [px], 1 / 4);
          assert.equal(tokens, 4);
          const v = l.toF32()[0]!;
          tape.backward(l);
          return v;
        }),
      );
      assert.ok(Math.abs(l0 - loss(model, px, ids, labels)) < 1e-6, "taped and untaped forward agree");
      for (const [pname, t] of trainable) {
        const grad = t.grad!.toF32();
        const base = t.toF32();
        // A unit direction and a small step: the loss is strongly curved in some parameters (a projector bias moves
        // every image token at once), and f32 rounding of the loss (~5e-7) over 2·eps stays below 1e-3.
        const dir = Float32Array.from({ length: base.length }, () => rng.normal());
        let norm = 0;
        for (const d of dir) norm += d * d;
        norm = Math.sqrt(norm);
        for (let i = 0; i < dir.length; i++) dir[i]! /= norm;
        const eps = 1e-2;
        const set = (sign: number) =>
          new Float32Array(t.backend.heap.buffer, t.ptr, t.numel).set(
            base.map((v, i) => v + sign * eps * dir[i]!),
          );
        set(1);
        const lp = loss(model, px, ids, labels);
        set(-1);
        const lm = loss(model, px, ids, labels);
        set(0);
        const numeric = (lp - lm) / (2 * eps);
        let analytic = 0;
        for (let i = 0; i < dir.length; i++) analytic += grad[i]! * dir[i]!;
        const err = Math.abs(numeric - analytic) / Math.max(1e-2, Math.abs(numeric));
        assert.ok(err < 1e-2, `${pname}: numeric ${numeric}, analytic ${analytic}, rel err ${err}`);
        t.requiresGrad = false;
        t.grad?.dispose();
        t.grad = null;
      }
      model.dispose();
      px.dispose();
    });

  test("LoRA with B = 0 gives exactly the base model; merging it gives the same outputs", async () => {
    const { backend, model, px, ids, labels, rng } = await setup("js");
    const before = loss(model, px, ids, labels);
    const adapters: LoraAdapter[] = [];
    for (const [, m] of model.llm.namedModules())
      if (m instanceof Linear && !m.lora) {
        const a = m.attachLora({ rank: 2, alpha: 4, dropout: 0.05 }, rng);
        a.init(backend);
        adapters.push(a);
      }
    assert.ok(adapters.length >= 15, "every LLM linear layer, lm_head included");
    assert.equal(loss(model, px, ids, labels), before, "B = 0: identical loss");
    // Give the adapters weights, then compare the adapted model with its merge.
    for (const a of adapters)
      a.B.value = keep(
        fromF32(
          backend,
          Float32Array.from({ length: a.B.value.numel }, () => rng.normal() * 0.05),
          a.B.shape,
        ),
      );
    const adapted = loss(model, px, ids, labels);
    assert.notEqual(adapted, before);
    for (const [, m] of model.llm.namedModules())
      if (m instanceof Linear && m.lora) {
        const w = keep(tidy(() => F.add(m.weight.value, m.lora!.delta())));
        m.weight.value = w;
        m.lora = null;
      }
    const merged = loss(model, px, ids, labels);
    assert.ok(
      Math.abs(merged - adapted) < 1e-5 * Math.abs(adapted),
      `merged ${merged} vs adapted ${adapted}`,
    );
    model.dispose();
    px.dispose();
  });
});
