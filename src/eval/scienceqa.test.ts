import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { jsonl, tempFolder } from "../testing/temp-folder.js";
import { scienceQaLetter, scienceQaPredIdx, scoreScienceQaFolder } from "./scienceqa.js";

describe("ScienceQA (LLaVA eval_science_qa.py)", () => {
  it("letter parsing: exact letter, 'X. ...', or exactly one 'The answer is X.'", () => {
    assert.equal(scienceQaLetter("C"), "C");
    assert.equal(scienceQaLetter("C "), "FAILED"); // exact match only
    assert.equal(scienceQaLetter("B. dog"), "B");
    assert.equal(scienceQaLetter("B."), "FAILED"); // needs ". " and 3 characters
    assert.equal(scienceQaLetter("A) Paris"), "FAILED");
    assert.equal(scienceQaLetter("The answer is B."), "B");
    assert.equal(scienceQaLetter("so The answer is Dx"), "D"); // the final "." is any character
    assert.equal(scienceQaLetter("The answer is B"), "FAILED"); // nothing after the letter
    assert.equal(scienceQaLetter("The answer is B.\nThe answer is C."), "FAILED"); // two matches
    assert.equal(scienceQaLetter("The answer is F."), "F");
    assert.equal(scienceQaLetter("The answer is B\n"), "FAILED"); // "." does not match a newline
  });

  it("a letter past the last choice is index -1", () => {
    assert.equal(scienceQaPredIdx("C", 4), 2);
    assert.equal(scienceQaPredIdx("D", 3), -1);
    assert.equal(scienceQaPredIdx("F", 5), -1);
    assert.equal(scienceQaPredIdx("FAILED", 5), -1);
  });

  const prob = (answer: number, image: string | null) => ({
    question: "q",
    choices: ["a", "b", "c"],
    answer,
    image,
  });
  const t = tempFolder({
    "problems.json": { "1": prob(0, "i.png"), "2": prob(1, "i.png"), "3": prob(2, null), "9": prob(0, null) },
    "pid_splits.json": { test: ["1", "2", "3"], val: ["9"] },
  });
  after(() => t.remove());
  const line = (id: string, text: string, image: boolean) => ({
    question_id: id,
    prompt: `${image ? "<image>\n" : ""}Context: N/A\nq`,
    text,
  });

  it("IMG accuracy is over prompts containing <image>; missing predictions are FAILED (as the script)", () => {
    t.write({ "answers.jsonl": jsonl([line("1", "A", true), line("3", "C", false)]) });
    assert.throws(() => scoreScienceQaFolder(t.dir), /1 of 3 questions have no prediction/);
    const s = scoreScienceQaFolder(t.dir, { allowMissing: true });
    assert.equal(s.all_accuracy, (2 / 3) * 100);
    assert.equal(s.img_accuracy, 100); // problem 2 has no prediction, so it is not "multimodal"
    assert.equal(s.failed, 1);
    const imp = scoreScienceQaFolder(t.dir, { allowMissing: true, variant: "imp" });
    assert.equal(imp.img_total, 2);
    assert.equal(imp.img_accuracy, 100);
  });

  it("split option and empty IMG group", () => {
    t.write({ "answers.jsonl": jsonl([line("9", "A", false)]) });
    const s = scoreScienceQaFolder(t.dir, { split: "val" });
    assert.equal(s.all_accuracy, 100);
    assert.equal(s.img_accuracy, null); // the script would divide by zero
  });
});
