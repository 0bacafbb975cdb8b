import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { tempFolder } from "../testing/temp-folder.js";
import { MME_SUBTASKS, mmeReadAnswer, scoreMme, scoreMmeSubtask } from "./mme.js";

const pair = (img: string, p1: string, p2: string) => `${img}\tq1\tYes\t${p1}\n${img}\tq2\tNo\t${p2}\n`;

describe("MME (eval_tool/calculation.py)", () => {
  it("reads yes/no from the first four characters, newline included", () => {
    assert.equal(mmeReadAnswer("yes"), "yes");
    assert.equal(mmeReadAnswer("yes, it is\n"), "yes");
    assert.equal(mmeReadAnswer("no.\n"), "no");
    assert.equal(mmeReadAnswer("not sure\n"), "no");
    assert.equal(mmeReadAnswer("  yes\n"), "other"); // "  ye"
    assert.equal(mmeReadAnswer("yeah\n"), "other");
    assert.equal(mmeReadAnswer("the answer is yes\n"), "other");
    assert.equal(mmeReadAnswer("know\n"), "no"); // "know" holds "no"
    assert.equal(mmeReadAnswer("i know\n"), "other"); // "i kn"
  });

  it("score = 100 * acc + 100 * acc+ (both questions of an image right)", () => {
    const s = scoreMmeSubtask(pair("a.jpg", "Yes", "Yes") + pair("b.jpg", "yes", "No."), "count.txt");
    assert.equal(s.acc, 0.75);
    assert.equal(s.acc_plus, 0.5);
    assert.equal(s.score, 125);
  });

  it("universal newlines: a CRLF line's prediction still ends with a newline", () => {
    assert.equal(scoreMmeSubtask("a\tq\tYes\tyes\r\na\tq\tNo\tno", "x.txt").score, 200);
  });

  it("malformed subtask files name the file and line", () => {
    assert.throws(() => scoreMmeSubtask("a\tq\tYes\tyes\n", "OCR.txt"), /OCR.txt:1: odd number of lines/);
    assert.throws(
      () => scoreMmeSubtask("a\tq\tYes\n a\tq\tNo\tno\n", "OCR.txt"),
      /OCR.txt:1: expected 4 tab-separated fields/,
    );
    assert.throws(
      () => scoreMmeSubtask("a\tq\tMaybe\tyes\na\tq\tNo\tno\n", "OCR.txt"),
      /OCR.txt:1: ground truth must be Yes or No/,
    );
  });

  const t = tempFolder();
  after(() => t.remove());
  it("totals sum the subtasks; a missing subtask file fails unless allowed", () => {
    const files: Record<string, string> = {};
    for (const task of [...MME_SUBTASKS.perception, ...MME_SUBTASKS.cognition])
      files[`${task}.txt`] = pair("i", "Yes", "No");
    files["OCR.txt"] = pair("i", "Yeah", "no");
    t.write(files);
    const s = scoreMme(t.dir);
    assert.equal(s.perception, 9 * 200 + 50);
    assert.equal(s.cognition, 800);
    t.remove();
    const t2 = tempFolder({ "OCR.txt": pair("i", "yes", "no") });
    assert.throws(() => scoreMme(t2.dir), /13 of 14 subtask files are missing/);
    assert.equal(scoreMme(t2.dir, { allowMissing: true }).perception, 200);
    t2.remove();
  });
});
