/**
 * The one prompt rule: the image placed where the model's config says, the same ids for the pipeline, the engine's
 * early count and training's encoder, and positions that count each image as its embeddings.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { qwen2Template } from "../io/template/index.js";
import { IMAGE_TOKEN_INDEX, Tokenizer } from "../io/tokenizer/index.js";
import { parseModelConfig } from "../models/config.js";
import { testBackend } from "../testing/backends.js";
import { fixture } from "../testing/fixtures.js";
import { writeTinyModel } from "../testing/tiny-model.js";
import { Encoder } from "../train/encode.js";
import { InProcessEngine } from "./engine/in-process-engine.js";
import { ImpPipeline } from "./pipeline.js";
import { PromptBuilder, splicedLength } from "./prompt.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-prompt-"));
const image = fixture("preprocess", "landscape_rgb.png");
let tokenizer: Tokenizer;
let questionFirst: string;

before(async () => {
  questionFirst = writeTinyModel(join(tmp, "question-first"), {
    max_position_embeddings: 1024,
    mm_image_placement: "after_text",
  });
  tokenizer = await Tokenizer.fromFolder(questionFirst);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("PromptBuilder", () => {
  test("positions count each placeholder as the image's embeddings", () => {
    const prompt = new PromptBuilder({
      tokenizer,
      template: qwen2Template,
      imageTokens: 16,
      imagePlacement: "before_text",
      imageTokenIndex: 7,
    });
    const { ids } = prompt.ids([{ role: "user", content: "Hi" }], { image: true });
    assert.equal(ids.filter((id) => id === IMAGE_TOKEN_INDEX).length, 1);
    assert.equal(prompt.positions(ids), ids.length - 1 + 16);
    assert.equal(prompt.promptPositions([{ role: "user", content: "Hi" }], true), ids.length + 15);
    // A caller's ids may hold the config's own image token id.
    assert.equal(prompt.positions([1, 7, 2, IMAGE_TOKEN_INDEX]), 2 + 2 * 16);
    assert.equal(
      splicedLength([1, 2, 3], () => false, 16),
      3,
    );
    assert.throws(() => prompt.ids([], { image: false }), /nothing to answer/);
  });

  test("mm_image_placement is read from config.json; a value it does not know is refused naming the key", () => {
    const cfg = JSON.parse(readFileSync(join(questionFirst, "config.json"), "utf8"));
    assert.equal(parseModelConfig(cfg, "config.json").imagePlacement, "after_text");
    const { mm_image_placement: _, ...official } = cfg;
    assert.equal(parseModelConfig(official, "config.json").imagePlacement, "before_text");
    assert.throws(
      () => parseModelConfig({ ...cfg, mm_image_placement: "first" }, "/m/config.json"),
      /\/m\/config\.json: mm_image_placement "first" is not one of "before_text", "after_text"/,
    );
  });

  test("a question-first model is asked with the image after the question by the pipeline, the engine and training", async () => {
    const imp = await ImpPipeline.load(questionFirst, { backend: await testBackend("js") });
    try {
      const { text, ids } = imp.promptIds({ prompt: "What shape is it?" }, true);
      assert.ok(text.includes("user\nWhat shape is it?\n<image><|im_end|>"), text);
      // The image's placeholder comes after the question's tokens.
      const question = tokenizer.encode("What shape is it?");
      const at = ids.indexOf(IMAGE_TOKEN_INDEX);
      assert.deepEqual(ids.slice(at - question.length - 1, at - 1), question);
      // The server's engine counts the same prompt.
      const engine = new InProcessEngine(imp);
      const messages = [{ role: "user" as const, content: "<image>\nWhat shape is it?" }];
      const prepared = await engine.prepare(
        { messages, image: { bytes: readFileSync(image), field: "image", maxPixels: 1e7 } },
        new AbortController().signal,
      );
      assert.equal(prepared.positions, imp.prompt.positions(ids));
      // Training renders the record as the model is asked.
      const encoder = new Encoder({
        tokenizer,
        template: imp.template,
        imageSpec: imp.imageSpec,
        imageTokens: imp.model.imageTokens,
        imagePlacement: imp.model.config.imagePlacement,
        maxLength: 1024,
      });
      const record = {
        id: "r",
        image: image,
        conversations: [
          { from: "human" as const, value: "<image>\nWhat shape is it?" },
          { from: "gpt" as const, value: "A square." },
        ],
        where: "data.json:1",
      };
      const trained = encoder.tokenize(record).ids;
      assert.deepEqual(trained.slice(0, ids.length), ids);
      // It answers with the image spliced in after the question.
      const a = await imp.generate({ image, prompt: "What shape is it?", maxNewTokens: 6 });
      assert.equal(a.stats.imageTokens, 16);
    } finally {
      imp.dispose();
    }
  });
});
