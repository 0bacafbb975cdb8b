// Records → ids and labels at the dataset level: for each template, exactly the assistant replies and their
// end-of-turn marker carry loss (LLaVA's preprocess_* masks); the plain (stage 1) template; the image placeholder;
// truncation after splicing; an unreadable image is a bad record naming the file and line.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { siglipSpec } from "../io/image/index.js";
import { templateForModelType } from "../io/template/index.js";
import { IMAGE_TOKEN_INDEX, Tokenizer } from "../io/tokenizer/index.js";
import { writeTinyTokenizer } from "../testing/tiny-tokenizer.js";
import { squarePng } from "../testing/training-material.js";
import { Rng } from "../util/random.js";
import { countTargets, Encoder, toMessages } from "./encode.js";
import type { DataRecord } from "./records.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-encode-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const png = join(tmp, "sq.png");
writeFileSync(png, squarePng([200, 10, 10], 20, new Rng(1)));

async function encoderFor(modelType: string, template?: "plain") {
  const dir = join(tmp, modelType);
  mkdirSync(dir, { recursive: true });
  writeTinyTokenizer(dir, modelType);
  const tokenizer = await Tokenizer.fromFolder(dir);
  const enc = new Encoder({
    tokenizer,
    template: template ?? templateForModelType(modelType),
    imageSpec: siglipSpec(28, "pad"),
    imageTokens: 4,
    imagePlacement: "before_text",
    maxLength: 1000,
  });
  return { enc, tokenizer };
}

const chat: DataRecord = {
  id: "r",
  image: png,
  where: "data.jsonl:7",
  conversations: [
    { from: "human", value: "What color is it?\n<image>" },
    { from: "gpt", value: "It is red." },
    { from: "human", value: "Sure?" },
    { from: "gpt", value: "Yes, very." },
  ],
};

/** The text of the tokens that carry loss, reply by reply (runs of unmasked labels). */
function trainedText(tok: Tokenizer, labels: number[]): string[] {
  const runs: number[][] = [];
  labels.forEach((l, i) => {
    if (l === -100) return;
    if (i > 0 && labels[i - 1] !== -100) runs[runs.length - 1]!.push(l);
    else runs.push([l]);
  });
  return runs.map((r) => tok.decode(r));
}

describe("encoding records", () => {
  for (const [modelType, replies] of [
    ["imp", [" It is red.</s>", " Yes, very.</s>"]],
    ["imp_qwen2", ["It is red.<|im_end|>", "Yes, very.<|im_end|>"]],
    ["imp_phi3", ["It is red.<|end|>", "Yes, very.<|end|>"]],
  ] as const)
    test(`${modelType}: only the replies and their end-of-turn marker carry loss`, async () => {
      const { enc, tokenizer } = await encoderFor(modelType);
      const ex = await enc.encode(chat);
      assert.deepEqual(trainedText(tokenizer, ex.labels), replies);
      assert.equal(ex.ids.filter((i) => i === IMAGE_TOKEN_INDEX).length, 1);
      assert.equal(ex.labels[ex.ids.indexOf(IMAGE_TOKEN_INDEX)], -100);
      assert.ok(ex.labels.every((l, i) => l === -100 || l === ex.ids[i]));
      assert.equal(ex.positions, ex.ids.length - 1 + 4);
      assert.equal(ex.targets, ex.labels.filter((l) => l !== -100).length);
      assert.equal(ex.pixels?.length, 3 * 28 * 28);
      // The image moves to the front of the first user turn, as preprocess_multimodal does.
      assert.match(tokenizer.decode(ex.ids.filter((i) => i >= 0)), /What color is it\?/);
    });

  test("plain (stage 1): '<image>' + caption + newline, loss on the caption and the newline", async () => {
    const { enc, tokenizer } = await encoderFor("imp_qwen2", "plain");
    const rec: DataRecord = { ...chat, conversations: chat.conversations.slice(0, 2) };
    const ex = await enc.encode(rec);
    assert.equal(ex.ids[0], IMAGE_TOKEN_INDEX);
    assert.deepEqual(trainedText(tokenizer, ex.labels), ["It is red.\n"]);
    assert.equal(ex.labels[0], -100);
    await assert.rejects(
      enc.encode(chat),
      /data\.jsonl:7: the plain \(stage 1\) template needs exactly one human turn/,
    );
    await assert.rejects(enc.encode({ ...rec, image: null }), /needs an image/);
  });

  test("text-only and leading-gpt records; system turns pass through", async () => {
    const { enc, tokenizer } = await encoderFor("imp_qwen2");
    const ex = await enc.encode({
      ...chat,
      image: null,
      conversations: [
        { from: "gpt", value: "dropped" },
        { from: "human", value: "Hi" },
        { from: "gpt", value: "Hello" },
      ],
    });
    assert.equal(ex.pixels, null);
    assert.deepEqual(trainedText(tokenizer, ex.labels), ["Hello<|im_end|>"]);
    assert.ok(!tokenizer.decode(ex.ids).includes("dropped"));
    const msgs = toMessages({
      ...chat,
      conversations: [
        { from: "system", value: "Be brief." },
        { from: "human", value: "Q" },
        { from: "gpt", value: "A" },
      ],
    });
    assert.deepEqual(
      msgs.map((m) => m.role),
      ["system", "user", "assistant"],
    );
  });

  test("truncation after splicing the image counts only the tokens left", () => {
    const ids = [1, IMAGE_TOKEN_INDEX, 2, 3, 4, 5];
    const labels = [-100, -100, -100, 3, 4, 5];
    assert.deepEqual(countTargets(ids, labels, 4, 100), { targets: 3, positions: 9 });
    assert.deepEqual(countTargets(ids, labels, 4, 8), { targets: 2, positions: 8 });
    assert.deepEqual(countTargets(ids, labels, 4, 6), { targets: 0, positions: 6 });
  });

  test("an unreadable image is a bad record naming the record and the file", async () => {
    const { enc } = await encoderFor("imp_qwen2");
    const bad = join(tmp, "bad.png");
    writeFileSync(bad, "\x89PNG\r\n\x1a\n garbage");
    await assert.rejects(enc.encode({ ...chat, image: bad }), (e: Error) => {
      assert.equal(e.name, "FormatError");
      assert.match(e.message, /^data\.jsonl:7: unreadable image: .*bad\.png/);
      return true;
    });
  });
});
