import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { jsonl, tempFolder } from "../testing/temp-folder.js";
import { scoreTextVqaFolder, textVqaQuestion, textVqaScore } from "./textvqa.js";

describe("TextVQA (LLaVA eval_textvqa.py)", () => {
  it("finds the question in each kind of LLaVA prompt", () => {
    assert.equal(
      textVqaQuestion("What Is This?\nAnswer the question using a single word or phrase.", "x"),
      "what is this?",
    );
    assert.equal(
      textVqaQuestion(
        "what brand?\nReference OCR token: Heineken\nAnswer the question using a single word or phrase.",
        "x",
      ),
      "what brand?",
    );
    assert.equal(
      textVqaQuestion("Reference OCR token: a, b\nwhat brand?\nAnswer briefly.", "x"),
      "what brand?",
    );
    assert.equal(textVqaQuestion("OCR tokens: a b Question: What year? Short answer:", "x"), "what year?");
    assert.throws(
      () => textVqaQuestion("one line only", "answers.jsonl:7"),
      /answers.jsonl:7: cannot find the question/,
    );
  });

  it("both sides go through EvalAI's processor; unknown answers score 0", () => {
    const humans = ["3", "3", "3", "3", "three", "three", "three", "three", "5", "5"];
    assert.equal(textVqaScore("Three.", humans), 1); // "three" -> "3": 8 humans
    // 2 humans said 5: summed in order over the held-out answers, as the script does.
    let sum = 0;
    for (const h of humans) sum += h === "5" ? 1 / 3 : 2 / 3;
    assert.equal(textVqaScore("5", humans), sum / 10);
    assert.equal(textVqaScore("four", humans), 0);
    assert.equal(textVqaScore("The Starbucks logo", Array(10).fill("starbucks")), 0);
  });

  describe("files", () => {
    const t = tempFolder({
      "TextVQA_0.5.1_val.json": {
        data: [
          { image_id: "img1", question: "What brand?", answers: Array(10).fill("heineken") },
          { image_id: "img1", question: "what year?", answers: Array(10).fill("1990") },
        ],
      },
    });
    after(() => t.remove());
    const line = (q: string, text: string) => ({
      question_id: "img1",
      prompt: `${q}\nAnswer the question using a single word or phrase.`,
      text,
    });

    it("scores answer lines; questions without one are missing", () => {
      t.write({ "answers.jsonl": jsonl([line("what brand?", "Heineken")]) });
      assert.throws(() => scoreTextVqaFolder(t.dir), /1 of 2 questions have no prediction/);
      assert.equal(scoreTextVqaFolder(t.dir, { allowMissing: true }).accuracy, 100);
      t.write({ "answers.jsonl": jsonl([line("what brand?", "Heineken"), line("what year?", "1999")]) });
      assert.equal(scoreTextVqaFolder(t.dir).accuracy, 50);
    });

    it("an answer line without an annotation is an error naming its line", () => {
      t.write({ "answers.jsonl": jsonl([line("what brand?", "x"), line("what colour?", "red")]) });
      assert.throws(() => scoreTextVqaFolder(t.dir), /answers.jsonl:2: no annotation/);
    });
  });
});
