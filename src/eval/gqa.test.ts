import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { jsonl, tempFolder } from "../testing/temp-folder.js";
import { gqaPrediction, scoreGqaFolder } from "./gqa.js";

const q = (answer: string, structural: string, global: string | null, isBalanced = true) => ({
  question: "q?",
  answer,
  isBalanced,
  types: { structural, semantic: "attr", detailed: "x" },
  groups: { global, local: "l" },
});

describe("GQA (LLaVA convert_gqa_for_eval.py + eval.py)", () => {
  it("predictions lose trailing periods and are lower-cased, nothing else", () => {
    assert.equal(gqaPrediction("Left side..."), "left side");
    assert.equal(gqaPrediction("The kite."), "the kite");
    assert.equal(gqaPrediction("No. "), "no. ");
  });

  const t = tempFolder({
    "testdev_balanced_questions.json": {
      "200": q("no", "verify", null),
      "100": q("kite", "query", "object"),
      "300": q("pink", "query", "color"),
      "400": q("left", "choose", null, false),
    },
  });
  after(() => t.remove());
  const ans = (id: string, text: string) => ({ question_id: id, prompt: "p", text });

  it("scores balanced questions: binary = non-query, open = query; distribution chi-square / 100", () => {
    t.write({ "answers.jsonl": jsonl([ans("200", "No"), ans("100", "The kite."), ans("300", "Pink.")]) });
    const s = scoreGqaFolder(t.dir);
    assert.equal(s.accuracy, (2 / 3) * 100);
    assert.equal(s.binary, 100);
    assert.equal(s.open, 50);
    assert.equal(s.distribution, 0.005);
    assert.equal(s.questions, 3); // the unbalanced question needs no prediction
  });

  it("missing balanced predictions fail unless allowed", () => {
    t.write({ "answers.jsonl": jsonl([ans("200", "no")]) });
    assert.throws(() => scoreGqaFolder(t.dir), /2 of 3 questions have no prediction/);
    const s = scoreGqaFolder(t.dir, { allowMissing: true });
    assert.equal(s.accuracy, 100);
    assert.equal(s.open, 0); // an empty group averages to 0, as eval.py's avg()
    assert.equal(s.distribution, null); // no predicted question has a global group
  });

  it("numeric question ids do not match GQA's string ids", () => {
    t.write({
      "answers.jsonl": jsonl([
        { question_id: 200, prompt: "p", text: "no" },
        ans("100", "x"),
        ans("300", "x"),
      ]),
    });
    assert.throws(() => scoreGqaFolder(t.dir), /1 of 3 questions have no prediction \(first: "200"\)/);
  });
});
