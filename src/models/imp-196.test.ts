/**
 * MILVLG/Imp-v1.5-3B-196 as it is published (testing/imp-196-checkpoint.ts lays out a tiny one the same way: old
 * phi-msft names and keys, 7 shards with an index, the tower's own SigLIP folder at its own image size): it loads
 * with the folder's tower (over a contradicting embedded `vision_tower_config`), answers token for token and logit for
 * logit as the same tensors in the plain Imp-v1.5 layout, matches the official goldens when its tower is the
 * fixture's, and does so through ImpPipeline, `imp serve`'s app (its in-tab file list too), `imp run`, `imp quantize`'s
 * writer and a Hub pull; a missing or empty tower folder is an error naming it and what it must hold.
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { modelParity } from "../parity/model.js";
import { saveModelFolder } from "../quant/save.js";
import { InProcessEngine } from "../runtime/engine/in-process-engine.js";
import { generateTokens } from "../runtime/generate.js";
import { ImpPipeline } from "../runtime/pipeline.js";
import { createApp } from "../serve/app.js";
import { testBackend } from "../testing/backends.js";
import { runCli } from "../testing/cli.js";
import { fixture } from "../testing/fixtures.js";
import { folderRepo } from "../testing/hub-repos.js";
import { TestHub } from "../testing/hub-server.js";
import type { Imp196Options } from "../testing/imp-196-checkpoint.js";
import { writeImp196Checkpoint, writePlainTwin } from "../testing/imp-196-checkpoint.js";
import { CheckpointError } from "../util/errors.js";
import { loadModel, readModelConfig } from "./load.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-196-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const image = fixture("preprocess", "landscape_rgb.png");
const QUESTION = "What is in the picture?";
// The byte-level test tokenizer spends a token per character of the Phi-2 template's system prompt.
const LONG = { n_positions: 1024, tokenizer_model_max_length: 1024 };
let n = 0;
const folder = (name: string) => join(tmp, `${name}-${n++}`);

function write196(opts: Imp196Options = {}) {
  return writeImp196Checkpoint(folder("imp-196"), { tokenizer: true, config: LONG, ...opts });
}

async function rejects(dir: string, pattern: RegExp): Promise<void> {
  const backend = await testBackend("js");
  await assert.rejects(loadModel(dir, { backend }), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected a CheckpointError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

/** Greedy tokens and every step's logits for the golden prompt ids with `pipeline`'s own preprocessing of `image`. */
async function greedy(pipeline: ImpPipeline, imageTokens?: number) {
  const pixels = await pipeline.prepareImage(image, imageTokens);
  const ids = [1, 2, 3, pipeline.model.config.imageTokenIndex, 4, 5];
  const logits: number[][] = [];
  const { tokens } = generateTokens(pipeline.model, ids, {
    images: [pixels],
    maxNewTokens: 8,
    onLogits: (_, l) => logits.push(Array.from(l)),
  });
  const out: number[] = [];
  for await (const t of tokens) out.push(t);
  const side = pixels.shape[2];
  pixels.dispose();
  return { tokens: out, logits, side };
}

describe("the Imp-v1.5-3B-196 layout", () => {
  let written: ReturnType<typeof writeImp196Checkpoint>;
  let imp: ImpPipeline;
  let twin: ImpPipeline;

  before(async () => {
    written = write196();
    const backend = await testBackend("js");
    imp = await ImpPipeline.load(written.folder, { backend });
    twin = await ImpPipeline.load(writePlainTwin(folder("twin"), { tokenizer: true, config: LONG }), {
      backend,
    });
  });
  after(() => {
    imp?.dispose();
    twin?.dispose();
  });

  test("its config comes from the tower folder, over the stale embedded vision_tower_config", () => {
    const r = readModelConfig(written.folder);
    assert.equal(r.towerFolder, written.towerFolder);
    assert.equal(r.visionFolder, null);
    assert.equal(r.config.vision?.imageSize, 42);
    assert.equal(r.config.llm.rotaryDim, 6);
    assert.equal(imp.imageTokens, written.imageTokens);
    assert.equal(imp.imageTokens, 9);
  });

  test("the image at the folder's size, 9 visual tokens; the same tokens and logits as the plain layout", async () => {
    const a = await greedy(imp);
    const b = await greedy(twin);
    assert.equal(a.side, 42);
    assert.equal(b.side, 42);
    assert.equal(a.tokens.length, 8);
    assert.deepEqual(a.tokens, b.tokens);
    assert.deepEqual(a.logits, b.logits);
    const text = await imp.generate({ image, prompt: QUESTION, maxNewTokens: 8 });
    assert.equal(text.stats.imageTokens, 9);
    assert.deepEqual(text.tokens, (await twin.generate({ image, prompt: QUESTION, maxNewTokens: 8 })).tokens);
  });

  test("--image-tokens still works: 16 visual tokens (the 3 × 3 table resized to 4 × 4) as in the plain layout", async () => {
    const a = await greedy(imp, 16);
    const b = await greedy(twin, 16);
    assert.equal(a.side, 56);
    assert.deepEqual(a.tokens, b.tokens);
    assert.deepEqual(a.logits, b.logits);
    const r = await imp.generate({ image, prompt: QUESTION, maxNewTokens: 4, imageTokens: 16 });
    assert.equal(r.stats.imageTokens, 16);
  });

  test("no embedded block, the same block, or the tower under a single vision_tower prefix: the same answer", async () => {
    const want = await greedy(imp);
    const backend = await testBackend("js");
    for (const opts of [
      { embedded: "none" },
      { embedded: "same", shards: 3 },
      { towerPrefix: "single" },
    ] as const) {
      const p = await ImpPipeline.load(write196(opts).folder, { backend });
      try {
        assert.deepEqual((await greedy(p)).logits, want.logits, JSON.stringify(opts));
      } finally {
        p.dispose();
      }
    }
  });

  test("mm_vision_tower as a relative, ./, absolute training-machine or hub-style name finds the folder", () => {
    for (const name of [
      "./siglip-tiny-patch14-42",
      "siglip-tiny-patch14-42/",
      "/data/train/checkpoints/siglip-tiny-patch14-42",
      "google/siglip-tiny-patch14-42",
    ]) {
      const w = writeImp196Checkpoint(folder("names"), { towerName: name, embedded: "none", shards: 1 });
      const r = readModelConfig(w.folder);
      assert.equal(r.towerFolder, w.towerFolder, name);
      assert.equal(r.config.vision?.imageSize, 42, name);
    }
  });

  test("the serve app answers from it as the library does, with 9 image positions", async () => {
    const want = await imp.generate({ image, prompt: QUESTION, maxNewTokens: 6 });
    const { app } = createApp({ engine: new InProcessEngine(imp), processMetrics: false, log: () => {} });
    const png = readFileSync(image);
    const res = await app.fetch(
      new Request("http://localhost/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "imp-196",
          temperature: 0,
          max_tokens: 6,
          messages: [
            {
              role: "user",
              content: [
                { type: "image_url", image_url: { url: `data:image/png;base64,${png.toString("base64")}` } },
                { type: "text", text: QUESTION },
              ],
            },
          ],
        }),
      }),
    );
    const body = (await res.json()) as OpenAI.ChatCompletion;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.choices[0]!.message.content, want.text);
    assert.equal(body.usage?.prompt_tokens, want.stats.prefillPositions);
  });

  test("the page's in-tab engine is served the tower folder's configs too, and loads from what it is served", async () => {
    const { app } = createApp({
      engine: new InProcessEngine(imp),
      inTab: { folder: written.folder },
      processMetrics: false,
      log: () => {},
    });
    const get = (path: string) => Promise.resolve(app.fetch(new Request(`http://localhost${path}`)));
    const list = (await (await get("/model/files")).json()) as { files: Array<{ name: string }> };
    const names = list.files.map((f) => f.name);
    for (const f of ["config.json", "model.safetensors.index.json", "tokenizer.json"])
      assert.ok(names.includes(f), f);
    assert.deepEqual(
      names.filter((f) => f.includes("/")),
      [`${written.towerDir}/config.json`, `${written.towerDir}/preprocessor_config.json`],
    );
    assert.equal(names.filter((f) => /^model-\d{5}-of-00007\.safetensors$/.test(f)).length, 7);
    for (const path of [
      `${written.towerDir}/model.safetensors`,
      `${written.towerDir}/README.md`,
      "nope/config.json",
    ])
      assert.equal((await get(`/model/${path}`)).status, 404, path);
    // What the worker does: fetch every listed file into its own folder, then load that.
    const copy = folder("in-tab");
    for (const name of names) {
      const res = await get(`/model/${name}`);
      assert.equal(res.status, 200, name);
      mkdirSync(dirname(join(copy, name)), { recursive: true });
      writeFileSync(join(copy, name), new Uint8Array(await res.arrayBuffer()));
    }
    const served = await ImpPipeline.load(copy, { backend: await testBackend("js") });
    try {
      assert.equal(served.imageTokens, 9);
      assert.deepEqual((await greedy(served)).logits, (await greedy(imp)).logits);
    } finally {
      served.dispose();
    }
  });

  test("imp quantize's copy keeps the tower folder and loads with the same tower", async () => {
    const out = folder("q8");
    const loaded = await loadModel(written.folder, { backend: await testBackend("js"), dtype: "q8" });
    try {
      saveModelFolder(loaded, out);
    } finally {
      loaded.model.dispose();
    }
    const r = readModelConfig(out);
    assert.equal(r.towerFolder, join(out, written.towerDir));
    const { model } = await loadModel(out, { backend: await testBackend("js") });
    assert.equal(model.imageTokens, 9);
    model.dispose();
  });
});

describe("against the official goldens", () => {
  test("with the fixture's own tower (56 px) in the folder, it matches tiny-imp-v1-phi2's PyTorch outputs", async () => {
    const w = writeImp196Checkpoint(folder("golden"), { side: 56, embedded: "none" });
    cpSync(fixture("tiny-imp-v1-phi2", "golden.safetensors"), join(w.folder, "golden.safetensors"));
    const results = await modelParity(w.folder, { backend: await testBackend("js") });
    assert.deepEqual(
      results.filter((r) => !r.ok).map((r) => `${r.output}: ${r.error} ${r.detail ?? ""}`),
      [],
    );
  });
});

describe("a missing tower folder", () => {
  test("with no embedded vision_tower_config: an error naming the folder and what it must hold", async () => {
    const w = writeImp196Checkpoint(folder("missing"), { embedded: "none", shards: 2 });
    rmSync(w.towerFolder, { recursive: true });
    await rejects(
      w.folder,
      /has no "vision_tower_config" and names the vision tower "siglip-tiny-patch14-42", whose folder is not in the checkpoint \(looked for .*siglip-tiny-patch14-42\); expected a folder holding the SigLIP tower's config\.json \(image_size, patch_size/,
    );
  });

  test("with a stale embedded block: the position table's shape error says the folder is missing", async () => {
    const w = writeImp196Checkpoint(folder("stale"), { shards: 2 });
    rmSync(w.towerFolder, { recursive: true });
    await rejects(
      w.folder,
      /position_embedding\.weight" has shape \[9,32\]; .* needs \[16,32\]\. config\.json and the weights disagree\. config\.json's mm_vision_tower names "siglip-tiny-patch14-42", which is not in .*needs that folder, with its config\.json/,
    );
  });

  test("a folder without its config.json is named", async () => {
    const w = writeImp196Checkpoint(folder("empty"), { shards: 2 });
    unlinkSync(join(w.towerFolder, "config.json"));
    await rejects(
      w.folder,
      /siglip-tiny-patch14-42, the vision tower folder that config\.json's mm_vision_tower names, has no config\.json; expected the SigLIP tower's config\.json/,
    );
  });
});

describe("front ends", () => {
  test("imp run loads the folder as it is: 9 visual tokens", async () => {
    // One child process (the suite's time): --image-tokens on imp run is run.test.ts's, on this layout the pipeline's above.
    const w = write196();
    const r = await runCli([
      "run",
      "--model",
      w.folder,
      "--json",
      "--max-tokens",
      "4",
      "--image",
      image,
      QUESTION,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { imageTokens: number }).imageTokens, 9);
  });

  test("ImpPipeline.load on a Hub id pulls the repo with its tower folder and answers as the folder does", async () => {
    const w = write196();
    const hub = await TestHub.start([folderRepo("test-org/Imp-tiny-196", w.folder)]);
    const cacheDir = mkdtempSync(join(tmp, "hub-cache-"));
    try {
      const backend = await testBackend("js");
      const pulled = await ImpPipeline.load("test-org/Imp-tiny-196", {
        backend,
        hub: { settings: { endpoint: hub.url, cacheDir, token: undefined, offline: false } },
      });
      const local = await ImpPipeline.load(w.folder, { backend });
      try {
        assert.equal(pulled.imageTokens, 9);
        assert.deepEqual((await greedy(pulled)).logits, (await greedy(local)).logits);
      } finally {
        pulled.dispose();
        local.dispose();
      }
    } finally {
      await hub.close();
    }
  });
});
