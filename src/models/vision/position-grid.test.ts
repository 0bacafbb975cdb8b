/**
 * SigLIP at another number of visual tokens: the position table resized as Hugging Face's
 * `interpolate_pos_encoding=True` does (against torch's own bicubic interpolate on every SigLIP fixture,
 * test/goldens/position-grid.json, made by scripts/golden-position-grid.py), and the tower at a smaller side giving
 * what a second checkpoint holding that resized table gives.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fromF32 } from "../../tensor/tensor.js";
import { testBackend } from "../../testing/backends.js";
import { fixture, repoRoot } from "../../testing/fixtures.js";
import { loadModel } from "../load.js";
import { resizePositionGrid } from "./position-grid.js";

interface Golden {
  grid: number;
  dim: number;
  resized: Record<string, number[]>;
}
const goldens = JSON.parse(
  readFileSync(join(repoRoot, "test", "goldens", "position-grid.json"), "utf8"),
) as Record<string, Golden>;

describe("SigLIP's position table on another grid", () => {
  test("equals torch's bicubic interpolate (align_corners=False) on every SigLIP fixture", async () => {
    assert.ok(Object.keys(goldens).length >= 4);
    const backend = await testBackend("js");
    for (const [name, g] of Object.entries(goldens)) {
      const { model } = await loadModel(fixture(name), { backend, dtype: "f32" });
      const table = model.vision!.embeddings.position_embedding.weight.value.toF32();
      assert.equal(table.length, g.grid * g.grid * g.dim, name);
      for (const [side, want] of Object.entries(g.resized)) {
        const got = resizePositionGrid(table, g.dim, Number(side));
        assert.equal(got.length, want.length, `${name} → ${side}`);
        let worst = 0;
        let scale = 0;
        for (let i = 0; i < want.length; i++) {
          worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
          scale = Math.max(scale, Math.abs(want[i]!));
        }
        assert.ok(worst <= 1e-6 * Math.max(1, scale), `${name} → ${side}×${side}: max error ${worst}`);
      }
      assert.equal(resizePositionGrid(table, g.dim, g.grid), table, "the native grid is the table itself");
      model.dispose();
    }
  });

  test("the tower at a smaller side = a checkpoint holding the resized table; other counts are refused", async () => {
    const backend = await testBackend("wasm");
    const { model } = await loadModel(fixture("tiny-imp-qwen2"), { backend, dtype: "f32" });
    const v = model.config.vision!;
    const grid = v.imageSize / v.patch - 1;
    assert.equal(model.imageSideFor(grid * grid), grid * v.patch);
    assert.equal(model.imageSideFor(model.imageTokens), v.imageSize);
    assert.throws(() => model.imageSideFor(grid * grid + 1), /not a square number of patches/);
    const side = grid * v.patch;
    const px = new Float32Array(3 * side * side).map((_, i) => Math.sin(i * 0.37));
    const pixels = fromF32(backend, px, [3, side, side]);
    const { embeds } = model.encodeImage(pixels);
    assert.deepEqual(embeds.shape, [grid * grid, model.config.llm.hidden]);
    const viaKnob = embeds.toF32();
    embeds.dispose();
    // A second checkpoint: the same weights with the table replaced by its resized copy.
    const pos = model.vision!.embeddings.position_embedding;
    const table = pos.weight.value.toF32();
    const { model: second } = await loadModel(fixture("tiny-imp-qwen2"), { backend, dtype: "f32" });
    const secondPos = second.vision!.embeddings.position_embedding;
    secondPos.weight.value = fromF32(backend, resizePositionGrid(table, v.hidden, grid), [
      grid * grid,
      v.hidden,
    ]);
    Object.assign(secondPos, { count: grid * grid });
    const direct = second.encodeImage(pixels).embeds.toF32();
    assert.deepEqual(Array.from(viaKnob), Array.from(direct));
    pixels.dispose();
    model.dispose();
    second.dispose();
  });
});
