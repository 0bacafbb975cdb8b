// `imp merge` as a library call, on every stored layout: the merged checkpoint has the base's files, tensor names,
// dtypes and shapes, loads through the normal loader, and gives the logits of base + adapter + trained connector.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Checkpoint } from "../io/safetensors/index.js";
import { IMAGE_TOKEN_INDEX } from "../io/tokenizer/index.js";
import { loadModel } from "../models/load.js";
import type { MultimodalModel } from "../models/multimodal.js";
import { keep, tidy } from "../tensor/scope.js";
import type { Tensor } from "../tensor/tensor.js";
import { fromF32 } from "../tensor/tensor.js";
import { testBackend } from "../testing/backends.js";
import { makeTinyBase } from "../testing/training-material.js";
import { Rng } from "../util/random.js";
import { AdamW } from "./adamw.js";
import { CONNECTOR_FILE, saveConnector } from "./connector-weights.js";
import { mergeAdapter } from "./merge.js";
import { attachAdapter, readAdapter, saveAdapter } from "./peft.js";
import { saveRunCheckpoint } from "./run-state.js";
import { setupTrainable } from "./trainable.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-merge-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function logits(model: MultimodalModel, px: Tensor): Float32Array {
  return tidy(() => {
    const img = model.encodeImage(px).embeds;
    const e = model.embed([3, 4, IMAGE_TOKEN_INDEX, 40, 41, 42], [img]);
    return model.logits(model.forward(e)).toF32();
  });
}

function randomize(t: Tensor, rng: Rng, s: number): void {
  new Float32Array(t.backend.heap.buffer, t.ptr, t.numel).set(
    Float32Array.from({ length: t.numel }, () => rng.normal() * s),
  );
}

const LAYOUTS = [
  ["tiny-imp-phi2", "F32 weights, Hugging Face Phi names", 1e-4],
  ["tiny-imp-qwen2", "BF16 weights", 1e-2],
  ["tiny-imp-phi3", "fused qkv_proj / gate_up_proj, two shards + index", 1e-2],
  ["tiny-imp-v1-phi2", "imp-v1 phi-msft names, fused Wqkv, F16", 2e-3],
] as const;

describe("merge", () => {
  for (const [name, what, tol] of LAYOUTS)
    test(`${name} (${what}): merged = base + adapter + connector`, async () => {
      const backend = await testBackend("wasm");
      const dir = join(tmp, name);
      const base = makeTinyBase(join(dir, "base"), name);
      const run = join(dir, "run");
      mkdirSync(run);
      const rng = new Rng(9);
      const px = keep(
        fromF32(
          backend,
          Float32Array.from({ length: 3 * 56 * 56 }, () => rng.uniform(-1, 1)),
          [3, 56, 56],
        ),
      );

      // A "trained" run: LoRA with non-zero B on every LLM linear, and a changed connector.
      const { model } = await loadModel(base, { backend, dtype: "f32" });
      const before = logits(model, px);
      const lora = { rank: 4, alpha: 8, dropout: 0, targetModules: "all-linear" as const };
      const setup = setupTrainable(model, { mode: "lora", lora, lr: 1, connectorLr: 1, weightDecay: 0 }, rng);
      for (const a of setup.adapters.values()) randomize(a.B.value, rng, 0.05);
      for (const p of setup.groups.find((g) => g.name === "connector")!.params)
        randomize(p.tensor, rng, 0.05);
      const adapted = logits(model, px);
      saveAdapter(run, setup.adapters, lora, base);
      saveConnector(model, join(run, CONNECTOR_FILE));
      assert.ok(
        adapted.some((v, i) => Math.abs(v - before[i]!) > 1e-2),
        "the adapter changes the outputs",
      );

      // PEFT names and config.
      const ad = readAdapter(run);
      assert.equal(ad.config.peft_type, "LORA");
      assert.equal(ad.config.task_type, "CAUSAL_LM");
      assert.equal(ad.scaling, 2);
      assert.ok(ad.config.target_modules.includes("lm_head"));
      const names = Checkpoint.open(join(run, "adapter_model.safetensors"));
      assert.ok(names.has("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
      assert.ok(names.has("base_model.model.lm_head.lora_B.weight"));
      names.close();

      // base + adapter, attached from the files, equals the in-memory adapted model.
      const reloaded = (await loadModel(base, { backend, dtype: "f32" })).model;
      attachAdapter(reloaded, run, rng);
      const { loadConnector } = await import("./connector-weights.js");
      loadConnector(reloaded, run);
      assert.deepEqual(logits(reloaded, px), adapted);
      reloaded.dispose();

      // The same weights as a mid-run checkpoint (checkpoints/step-N/) merge to the same bytes.
      const opt = new AdamW(setup.groups, { beta1: 0.9, beta2: 0.999, eps: 1e-8 });
      const state = {
        version: 1 as const,
        step: 3,
        totalSteps: 9,
        optimizerSteps: 3,
        rng: { s: [1, 2, 3, 4], spare: null },
        fingerprint: { lora },
        counters: { targets: 0, positions: 0, skipped: 0, elapsedMs: 0 },
      };
      const ckpt = saveRunCheckpoint(join(dir, "ckpt-run"), opt, state, 1);
      model.dispose();

      const out = join(dir, "merged");
      const r = mergeAdapter({ base, adapter: run, out, backend });
      const fromCkpt = mergeAdapter({ base, adapter: ckpt, out: join(dir, "merged-ckpt"), backend });
      assert.deepEqual([fromCkpt.loraModules, fromCkpt.connector], [setup.adapters.size, true]);
      for (const f of readdirSync(out))
        assert.deepEqual(readFileSync(join(dir, "merged-ckpt", f)), readFileSync(join(out, f)), f);
      assert.equal(r.loraModules, setup.adapters.size);
      assert.deepEqual(readdirSync(out).sort(), readdirSync(base).sort());
      const [a, b] = [Checkpoint.open(base), Checkpoint.open(out)];
      assert.deepEqual(b.names(), a.names());
      for (const n of a.names()) {
        assert.equal(b.info(n).dtype, a.info(n).dtype, n);
        assert.deepEqual(b.info(n).shape, a.info(n).shape, n);
      }
      a.close();
      b.close();

      const merged = (await loadModel(out, { backend, dtype: "f32" })).model;
      const got = logits(merged, px);
      merged.dispose();
      px.dispose();
      let err = 0;
      let scale = 0;
      for (let i = 0; i < got.length; i++) {
        err = Math.max(err, Math.abs(got[i]! - adapted[i]!));
        scale = Math.max(scale, Math.abs(adapted[i]! - before[i]!));
      }
      assert.ok(
        err <= tol * Math.max(1, scale),
        `max |merged − adapted| = ${err} (change from base ${scale})`,
      );
    });

  test("a stage-1 folder (connector only) merges too", async () => {
    const backend = await testBackend("js");
    const base = join(tmp, "tiny-imp-phi2", "base");
    const run = join(tmp, "stage1-only");
    mkdirSync(run);
    const { model } = await loadModel(base, { backend, dtype: "f32" });
    const fc1 = model.namedParameters().find(([n]) => n === "model.mm_projector.0.weight")![1];
    randomize(fc1.value, new Rng(2), 0.1);
    const want = fc1.value.toF32();
    saveConnector(model, join(run, CONNECTOR_FILE));
    model.dispose();
    const r = mergeAdapter({ base, adapter: run, out: join(tmp, "merged-stage1"), backend });
    assert.deepEqual([r.loraModules, r.connector, r.edited.length], [0, true, 4]);
    const merged = (await loadModel(join(tmp, "merged-stage1"), { backend, dtype: "f32" })).model;
    const got = merged
      .namedParameters()
      .find(([n]) => n === "model.mm_projector.0.weight")![1]
      .value.toF32();
    merged.dispose();
    assert.deepEqual(got, want);
  });

  test("refuses an adapter folder with nothing to merge, and an existing output", async () => {
    const backend = await testBackend("js");
    const base = join(tmp, "tiny-imp-phi2", "base");
    mkdirSync(join(tmp, "empty"));
    assert.throws(
      () => mergeAdapter({ base, adapter: join(tmp, "empty"), out: join(tmp, "o"), backend }),
      /neither/,
    );
    assert.throws(
      () => mergeAdapter({ base, adapter: join(tmp, "tiny-imp-phi2", "run"), out: base, backend }),
      /is the base folder/,
    );
  });
});
