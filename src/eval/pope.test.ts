import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { jsonl, tempFolder } from "../testing/temp-folder.js";
import { popeMetrics, popeSaysYes, scorePopeFolder } from "./pope.js";

describe("POPE (LLaVA eval_pope.py)", () => {
  it("yes/no from the first sentence, commas removed, words split on single spaces", () => {
    assert.equal(popeSaysYes("Yes"), true);
    assert.equal(popeSaysYes("No, there is none."), false);
    assert.equal(popeSaysYes("There is not."), false);
    assert.equal(popeSaysYes("NO"), true); // only "No", "no", "not" count
    assert.equal(popeSaysYes("Nope"), true);
    assert.equal(popeSaysYes("Yes. No."), true); // only the first sentence
    assert.equal(popeSaysYes("no\nway"), true); // "no\nway" is one word
    assert.equal(popeSaysYes("yes,no"), true); // commas are deleted, not split on
  });

  it("pairs by position up to the shorter list; the yes ratio counts every answer", () => {
    const m = popeMetrics([true, false, true], ["yes", "no"]);
    assert.deepEqual([m.TP, m.FP, m.TN, m.FN], [1, 0, 1, 0]);
    assert.equal(m.yes_ratio, 2 / 3);
    assert.equal(popeMetrics([false, false], ["no", "no"]).precision, null); // TP + FP = 0
  });

  const t = tempFolder({
    "coco/coco_pope_random.json": jsonl([
      { question_id: 1, label: "yes" },
      { question_id: 2, label: "no" },
    ]),
    "coco/coco_pope_popular.json": jsonl([{ question_id: 1, label: "no" }]),
    "llava_pope_test.jsonl": jsonl([
      { question_id: 10, text: "q", category: "random" },
      { question_id: 11, text: "q", category: "random" },
      { question_id: 20, text: "q", category: "popular" },
    ]),
  });
  after(() => t.remove());

  it("splits by question category; answers pair with labels in answers-file order", () => {
    t.write({
      "answers.jsonl": jsonl([
        { question_id: 11, text: "no" }, // first random answer pairs with the first random label ("yes")
        { question_id: 20, text: "no" },
        { question_id: 10, text: "yes" },
      ]),
    });
    const s = scorePopeFolder(t.dir);
    assert.deepEqual(Object.keys(s.f1).sort(), ["popular", "random"]);
    assert.equal(s.splits.random!.FN, 1);
    assert.equal(s.splits.random!.FP, 1);
    assert.equal(s.accuracy.popular, 1);
  });

  it("fewer answers than labels is missing; extra files in coco/ are an error", () => {
    t.write({
      "answers.jsonl": jsonl([
        { question_id: 10, text: "yes" },
        { question_id: 20, text: "no" },
      ]),
    });
    assert.throws(() => scorePopeFolder(t.dir), /1 of 3 questions have no prediction/);
    assert.equal(scorePopeFolder(t.dir, { allowMissing: true }).accuracy.random, 1);
    t.write({ "answers.jsonl": jsonl([{ question_id: 99, text: "yes" }]) });
    assert.throws(
      () => scorePopeFolder(t.dir, { allowMissing: true }),
      /answers.jsonl:1: question_id is not in/,
    );
    t.write({ "coco/README.txt": "x", "answers.jsonl": jsonl([{ question_id: 10, text: "yes" }]) });
    assert.throws(() => scorePopeFolder(t.dir, { allowMissing: true }), /may only hold coco_pope_/);
  });
});
