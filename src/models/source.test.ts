/**
 * Model sources: a folder passes through; a Hub id is pulled and loaded (ImpPipeline.load("org/name") answers as
 * the snapshot folder does, a LLaVA tower from another repo included); config.json is judged with the loader's
 * own parser before any weights are fetched.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ImpPipeline } from "../runtime/pipeline.js";
import { testBackend } from "../testing/backends.js";
import { fixture } from "../testing/fixtures.js";
import { fixtureRepo, withConfig } from "../testing/hub-repos.js";
import { TestHub } from "../testing/hub-server.js";
import { checkHubConfig, resolveModelSource } from "./source.js";

const qwen2 = fixtureRepo("test-org/tiny-imp-qwen2", "tiny-imp-qwen2");
const llava = fixtureRepo("test-org/tiny-llava15", "tiny-llava15");
const clip = {
  id: "test-org/tiny-clip",
  files: Object.fromEntries(
    Object.entries(llava.files)
      .filter(([p]) => p.startsWith("clip-vision/"))
      .map(([p, b]) => [p.slice("clip-vision/".length), b]),
  ),
};
const llavaHubTower = (() => {
  const r = withConfig(llava, "test-org/tiny-llava15-hub-tower", { mm_vision_tower: clip.id });
  return {
    ...r,
    files: Object.fromEntries(Object.entries(r.files).filter(([p]) => !p.startsWith("clip-vision/"))),
  };
})();
const image = fixture("preprocess", "landscape_rgb.png");

let hub: TestHub;
let cacheDir: string;
const hubOpts = () => ({ settings: { endpoint: hub.url, cacheDir, token: undefined, offline: false } });

before(async () => {
  hub = await TestHub.start([qwen2, llava, clip, llavaHubTower]);
  cacheDir = mkdtempSync(join(tmpdir(), "imp-source-"));
});
after(async () => {
  await hub.close();
});

const json = (name: string) =>
  JSON.parse(readFileSync(fixture(name, "config.json"), "utf8")) as Record<string, unknown>;

describe("checkHubConfig", () => {
  test("accepts every fixture model; names a LLaVA tower that lives in another repo", () => {
    for (const name of ["tiny-imp-phi2", "tiny-imp-v1-phi2", "tiny-imp-qwen2", "tiny-imp-phi3"])
      assert.deepEqual(checkHubConfig(json(name), name), { towerRepo: null });
    assert.deepEqual(
      checkHubConfig(json("tiny-llava15"), "llava"),
      { towerRepo: null },
      "a folder, not a repo",
    );
    assert.deepEqual(
      checkHubConfig(
        { ...json("tiny-llava15"), mm_vision_tower: "openai/clip-vit-large-patch14-336" },
        "llava",
      ),
      { towerRepo: "openai/clip-vit-large-patch14-336" },
    );
  });

  test("accepts transformers' native LLaVA layout", () => {
    const cfg = {
      model_type: "llava",
      text_config: {
        model_type: "llama",
        hidden_size: 64,
        intermediate_size: 128,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        vocab_size: 512,
      },
      vision_config: {
        model_type: "clip_vision_model",
        hidden_size: 32,
        intermediate_size: 64,
        num_hidden_layers: 3,
        num_attention_heads: 2,
        image_size: 56,
        patch_size: 14,
      },
    };
    assert.deepEqual(checkHubConfig(cfg, "llava-hf"), {});
  });

  test("refuses text-only LLMs and unknown model types, naming the file and the value", () => {
    assert.throws(
      () => checkHubConfig({ model_type: "qwen2", hidden_size: 64 }, "Qwen/Qwen1.5-1.8B/config.json"),
      /not a model imp-ts can run.*Qwen\/Qwen1\.5-1\.8B\/config\.json: model_type "qwen2" is not supported; expected one of imp/,
    );
    const { vision_tower_config: _, mm_vision_tower: __, ...noTower } = json("tiny-imp-phi2");
    assert.throws(
      () => checkHubConfig(noTower, "x/config.json"),
      /x\/config\.json: no vision tower.*text-only/,
    );
    const { vision_tower_config: ___, ...towerless } = json("tiny-imp-phi2");
    assert.throws(
      () => checkHubConfig(towerless, "y/config.json"),
      /y\/config\.json: "vision_tower_config" is missing/,
    );
  });
});

describe("resolveModelSource and ImpPipeline.load", () => {
  test("a folder passes through untouched", async () => {
    const r = await resolveModelSource(fixture("tiny-imp-qwen2"));
    assert.deepEqual(r, { folder: fixture("tiny-imp-qwen2"), visionTower: undefined, pulled: null });
  });

  test("ImpPipeline.load with a Hub id answers exactly as with the snapshot folder", async () => {
    const backend = await testBackend("js");
    const viaHub = await ImpPipeline.load(qwen2.id, { backend, hub: hubOpts() });
    const viaFolder = await ImpPipeline.load(viaHub.folder, { backend });
    assert.ok(viaHub.folder.startsWith(join(cacheDir, "models--test-org--tiny-imp-qwen2", "snapshots")));
    const a = await viaHub.generate({ image, prompt: "What shape is it?", maxNewTokens: 8 });
    const b = await viaFolder.generate({ image, prompt: "What shape is it?", maxNewTokens: 8 });
    assert.ok(a.tokens.length > 0);
    assert.deepEqual(a.tokens, b.tokens);
  });

  test("a LLaVA model whose CLIP tower is another Hub repo loads with that tower", async () => {
    const backend = await testBackend("js");
    const r = await resolveModelSource(llavaHubTower.id, { hub: hubOpts() });
    assert.ok(r.visionTower?.includes("models--test-org--tiny-clip"));
    const viaHub = await ImpPipeline.load(llavaHubTower.id, { backend, hub: hubOpts() });
    const inRepo = await ImpPipeline.load(llava.id, { backend, hub: hubOpts() });
    const a = await viaHub.generate({ image, prompt: "Describe.", maxNewTokens: 6 });
    const b = await inRepo.generate({ image, prompt: "Describe.", maxNewTokens: 6 });
    assert.equal(a.stats.imageTokens, b.stats.imageTokens);
    assert.deepEqual(a.tokens, b.tokens);
  });
});
