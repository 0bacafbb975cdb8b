import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { tempFolder } from "../testing/temp-folder.js";
import { FormatError } from "../util/errors.js";
import { evaluateVqa, scoreVqav2Folder, type VqaAnnotation, vqaAccuracy } from "./vqav2.js";

const ann = (answers: string[], extra: Partial<VqaAnnotation> = {}): VqaAnnotation => ({
  key: "n:1",
  questionType: "what",
  answerType: "other",
  answers: answers.map((a, i) => ({ answer: a, answer_confidence: "yes", answer_id: i + 1 })),
  ...extra,
});
const ten = (a: string) => Array(10).fill(a) as string[];

describe("VQAv2 official evaluator", () => {
  it("normalises only when the human answers disagree", () => {
    // All ten say "cat": no normalisation, so "Cat" and "cat." are wrong.
    assert.equal(vqaAccuracy(ann(ten("cat")), "cat"), 1);
    assert.equal(vqaAccuracy(ann(ten("cat")), "Cat"), 0);
    assert.equal(vqaAccuracy(ann(ten("cat")), " cat\n"), 1); // whitespace is always flattened and stripped
    // One dissenter switches normalisation on for both sides.
    const mixed = [...Array(9).fill("cat"), "a cat"];
    assert.equal(vqaAccuracy(ann(mixed), "Cat."), 1);
  });

  it("soft accuracy: mean over leave-one-out of min(matches / 3, 1)", () => {
    const answers = ["2", "2", "3", "3", "3", "3", "4", "5", "6", "7"];
    // "2": 2 of 10; leaving out a "2" leaves 1 match (1/3), else 2 matches (2/3): (2*1/3 + 8*2/3) / 10.
    assert.equal(vqaAccuracy(ann(answers), "2"), (2 * (1 / 3) + 8 * (2 / 3)) / 10);
    assert.equal(vqaAccuracy(ann(answers), "two"), vqaAccuracy(ann(answers), "2"));
    assert.equal(vqaAccuracy(ann(answers), "3"), 1);
    assert.equal(vqaAccuracy(ann(answers), "8"), 0);
  });

  it("leave-one-out drops whole identical records together", () => {
    const a = ann(["red", "red", "red", "blue", "blue", "blue", "blue", "blue", "blue", "blue"]);
    a.answers[1] = { ...a.answers[0]! }; // two identical "red" records (same answer_id)
    // Holding out either duplicate removes both: 1 match left (1/3) twice; the other red: 2 matches (2/3).
    let sum = 0;
    for (const v of [1 / 3, 1 / 3, 2 / 3, 1, 1, 1, 1, 1, 1, 1]) sum += v;
    assert.equal(vqaAccuracy(a, "red"), sum / 10);
  });

  it("pre-2021 version always normalises the prediction but never the humans' number words", () => {
    assert.equal(vqaAccuracy(ann(ten("three")), "three", "head"), 1);
    assert.equal(vqaAccuracy(ann(ten("three")), "three", "pre2021"), 0); // prediction became "3"
    assert.equal(vqaAccuracy(ann(ten("cat")), "Cat", "pre2021"), 1);
  });

  it("overall and per type: 100 * mean, rounded half away from zero (Python 2)", () => {
    const anns: VqaAnnotation[] = [];
    const preds = new Map<string, string>();
    for (let i = 0; i < 8; i++) {
      anns.push(ann(ten("x"), { key: `n:${i}`, answerType: i < 4 ? "yes/no" : "other" }));
      preds.set(`n:${i}`, i === 0 ? "x" : "y");
    }
    const r = evaluateVqa(anns, preds);
    assert.equal(r.overall_unrounded, 12.5);
    assert.equal(r.overall, 12.5);
    assert.deepEqual(r.per_answer_type, { "yes/no": 25, other: 0 });
    // 97 right of 800: 100 * 97 / 800 = 12.125 exactly; Python 2 rounds the tie up, Python 3 would give 12.12.
    const many: VqaAnnotation[] = [];
    const p2 = new Map<string, string>();
    for (let i = 0; i < 800; i++) {
      many.push(ann(ten("x"), { key: `n:${i}` }));
      p2.set(`n:${i}`, i < 97 ? "x" : "y");
    }
    const r2 = evaluateVqa(many, p2);
    assert.equal(r2.overall_unrounded, 12.125);
    assert.equal(r2.overall, 12.13);
  });

  describe("files", () => {
    const t = tempFolder();
    after(() => t.remove());
    const base = {
      "questions.json": {
        info: {},
        task_type: "Open-Ended",
        data_type: "mscoco",
        data_subtype: "val2014",
        license: {},
        questions: [],
      },
      "annotations.json": {
        annotations: [1, 2, 3].map((q) => ({
          question_id: q,
          question_type: "what",
          answer_type: "other",
          answers: ten("cat").map((a, i) => ({ answer: a, answer_confidence: "yes", answer_id: i + 1 })),
        })),
      },
    };

    it("missing predictions fail unless allowed, then the answered ones are scored", () => {
      t.write({
        ...base,
        "results.json": [
          { question_id: 1, answer: "cat" },
          { question_id: 2, answer: "dog" },
        ],
      });
      assert.throws(
        () => scoreVqav2Folder(t.dir),
        (e: Error) => e instanceof FormatError && /1 of 3 questions have no prediction/.test(e.message),
      );
      const s = scoreVqav2Folder(t.dir, { allowMissing: true });
      assert.equal(s.overall, 50);
      assert.equal(s.missing, 1);
    });

    it("results for unknown questions and malformed files are errors naming the file", () => {
      t.write({ ...base, "results.json": [1, 2, 3, 4].map((q) => ({ question_id: q, answer: "cat" })) });
      assert.throws(() => scoreVqav2Folder(t.dir), /results.json: 1 results name questions that are not in/);
      t.write({ ...base, "results.json": '[\n{"question_id": 1,\n "answer": }\n]' });
      assert.throws(() => scoreVqav2Folder(t.dir), /results.json:3:12: invalid JSON/);
      t.write({ ...base, "results.json": [{ question_id: 1, answer: 5 }] });
      assert.throws(() => scoreVqav2Folder(t.dir), /results.json \(\[0\]\)\.answer: expected a string/);
      t.write({ ...base, "results.json": [{ question_id: "1", answer: "cat" }] });
      assert.throws(() => scoreVqav2Folder(t.dir, { allowMissing: true }), /not in/); // "1" is not 1
    });
  });
});
