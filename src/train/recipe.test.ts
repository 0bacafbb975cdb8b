// Recipes: the shipped ones hold the paper's values; stage defaults; --set overrides; clear errors.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { repoRoot } from "../testing/fixtures.js";
import { applyOverrides, loadRecipe, recipeToJson, resolveRecipe } from "./recipe.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-recipe-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("recipes", () => {
  test("the shipped stage-1 recipe: connector only, lr 1e-3, batch 256, 1 epoch, cosine, warmup 0.03", () => {
    const r = loadRecipe(join(repoRoot, "recipes/imp-stage1.json"));
    assert.equal(r.stage, 1);
    assert.equal(r.train, "connector");
    assert.equal(r.template, "plain");
    assert.equal(r.connectorInit, "random");
    assert.deepEqual(
      [r.lr, r.globalBatch, r.epochs, r.schedule, r.warmupRatio],
      [1e-3, 256, 1, "cosine", 0.03],
    );
  });

  test("the shipped stage-2 recipe: LoRA 256/256/0.05, lr 2e-4, connector 2e-5, batch 128, 2 epochs, wd 0, 3072", () => {
    const r = loadRecipe(join(repoRoot, "recipes/imp-stage2-lora.json"));
    assert.equal(r.train, "lora");
    assert.deepEqual(r.lora, { rank: 256, alpha: 256, dropout: 0.05, targetModules: "all-linear" });
    assert.deepEqual(
      [r.lr, r.connectorLr, r.globalBatch, r.epochs, r.weightDecay, r.maxLength, r.warmupRatio],
      [2e-4, 2e-5, 128, 2, 0, 3072, 0.03],
    );
    assert.equal(r.connectorInit, "runs/imp-stage1");
  });

  test("YAML recipes, stage defaults and typed overrides (dotted keys reach into lora)", () => {
    const file = join(tmp, "r.yaml");
    writeFileSync(file, "stage: 2\nbase: b\noutput: o\ndata: d.yaml\nlr: 0.1\n");
    const r = loadRecipe(file, [
      "lr=1e-3",
      "lora.rank=8",
      "lora.target_modules=[q_proj, v_proj]",
      "max_steps=5",
      "skip_bad=true",
    ]);
    assert.equal(r.lr, 1e-3);
    assert.equal(r.lora.rank, 8);
    assert.equal(r.lora.alpha, 256, "other lora keys keep their defaults");
    assert.deepEqual(r.lora.targetModules, ["q_proj", "v_proj"]);
    assert.equal(r.maxSteps, 5);
    assert.equal(r.skipBad, true);
    assert.equal(r.train, "lora");
    assert.equal(r.template, "model");
    assert.equal(loadRecipe(file, ["stage=1"]).train, "connector");
    assert.equal(loadRecipe(file, ["stage=1", "train=full"]).train, "full");
    assert.deepEqual(resolveRecipe(recipeToJson(r), "round trip"), r);
  });

  test("errors name the key, what was expected and what was found", () => {
    const base = { stage: 2, base: "b", output: "o", data: "d" };
    assert.throws(
      () => resolveRecipe({ ...base, lr: "fast" }, "r.json"),
      /r\.json: lr: expected a number in \[0, .*found "fast"/,
    );
    assert.throws(
      () => resolveRecipe({ ...base, global_batch: 0 }, "r.json"),
      /global_batch: expected an integer ≥ 1, found 0/,
    );
    assert.throws(
      () => resolveRecipe({ ...base, learning_rate: 1 }, "r.json"),
      /unknown key "learning_rate"/,
    );
    assert.throws(() => resolveRecipe({ ...base, lora: { rnak: 2 } }, "r.json"), /unknown key "lora.rnak"/);
    assert.throws(() => resolveRecipe({ stage: 2, base: "b", output: "o" }, "r.json"), /missing "data"/);
    assert.throws(
      () => resolveRecipe({ ...base, train: "qlora" }, "r.json"),
      /train: expected one of "connector", "lora", "full"/,
    );
    assert.throws(() => applyOverrides({}, ["lr"]), /expected KEY=VALUE/);
  });
});
