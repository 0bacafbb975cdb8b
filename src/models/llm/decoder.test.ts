/**
 * The decoder's cached forward pass: a long prompt run in chunks over the KV cache gives the logits of one pass
 * over the whole prompt (chunks straddle the image and the text; the last chunk of a few rows takes the decode
 * kernels), and the greedy continuation after it is the same. A layer tap (the trainer's image-token head on a
 * middle layer) reads the residual stream without changing the output.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { generateTokens } from "../../runtime/generate.js";
import { tidy } from "../../tensor/scope.js";
import { fromF32 } from "../../tensor/tensor.js";
import { testBackend } from "../../testing/backends.js";
import { writeTinyModel } from "../../testing/tiny-model.js";
import { Rng } from "../../util/random.js";
import { loadModel } from "../load.js";
import type { LayerTap } from "./decoder.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-decoder-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("a prompt run in chunks over the cache gives one pass's logits and the same greedy tokens", async () => {
  const dir = writeTinyModel(join(tmp, "model"), { max_position_embeddings: 1024 });
  const backend = await testBackend("wasm");
  const { model } = await loadModel(dir, { backend });
  try {
    const rng = new Rng(5);
    const ids = [1, -200, ...Array.from({ length: 40 }, () => 3 + rng.int(200))];
    const side = model.config.vision!.imageSize;
    const px = Float32Array.from({ length: 3 * side * side }, () => rng.uniform(-1, 1));
    const pixels = fromF32(backend, px, [3, side, side]);
    const run = (chunk: number) => {
      model.llm.prefillChunk = chunk;
      const logits = tidy(() => {
        const cache = model.newCache(256);
        try {
          return model
            .logits(model.forward(model.embed(ids, [model.encodeImage(pixels).embeds]), cache))
            .toF32();
        } finally {
          cache.dispose();
        }
      });
      return logits;
    };
    const whole = run(1 << 20);
    const chunked = run(9); // 16 image rows + 41 text rows: chunks of 9, the last of 3 rows
    let err = 0;
    let max = 0;
    for (let i = 0; i < whole.length; i++) {
      err = Math.max(err, Math.abs(whole[i]! - chunked[i]!));
      max = Math.max(max, Math.abs(whole[i]!));
    }
    assert.equal(chunked.length, whole.length);
    assert.ok(err / max < 1e-5, `chunked vs whole: ${err / max}`);
    const greedy = async (chunk: number) => {
      model.llm.prefillChunk = chunk;
      const out: number[] = [];
      for await (const t of generateTokens(model, ids, { images: [pixels], maxNewTokens: 8 }).tokens)
        out.push(t);
      return out;
    };
    assert.deepEqual(await greedy(9), await greedy(1 << 20));
    pixels.dispose();
  } finally {
    model.dispose();
  }
});

test("a layer tap hands out the residual stream after that layer: after the last, the final norm gives the output", async () => {
  const dir = writeTinyModel(join(tmp, "tapped"), {});
  const backend = await testBackend("wasm");
  const { model } = await loadModel(dir, { backend });
  try {
    const rng = new Rng(9);
    const ids = Array.from({ length: 12 }, () => 3 + rng.int(200));
    const layers = model.config.llm.layers;
    assert.ok(layers >= 2, `${layers} layers`);
    tidy(() => {
      const embeds = model.embedTokens(ids);
      const plain = model.llm.forwardPacked(embeds, [5, 7]).toF32();
      const last: LayerTap = { after: layers - 1 };
      const first: LayerTap = { after: 0 };
      // The tap changes nothing of the output.
      assert.deepEqual(model.llm.forwardPacked(embeds, [5, 7], last).toF32(), plain);
      assert.deepEqual(model.llm.norm.forward(last.out!).toF32(), plain);
      model.llm.forwardPacked(embeds, [5, 7], first);
      assert.deepEqual(first.out!.shape, [12, model.config.llm.hidden]);
      // An earlier layer's stream is another one (and still readable after the layers above it ran).
      const a = first.out!.toF32();
      const b = last.out!.toF32();
      assert.ok(a.some((v, i) => Math.abs(v - b[i]!) > 1e-3));
    });
  } finally {
    model.dispose();
  }
});
