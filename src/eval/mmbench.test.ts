import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { jsonl, tempFolder } from "../testing/temp-folder.js";
import { scoreMmbenchFolder } from "./mmbench.js";
import { openCompassCanInfer, vlmEvalKitCanInfer } from "./mmbench-match.js";
import { cellString, excelColumnStrings, excelTextRoundTrip, parseTable } from "./pandas-table.js";

const CH: [string, string][] = [
  ["A", "kitchen"],
  ["B", "bedroom"],
  ["C", "garage"],
];

describe("MMBench letter extraction (can_infer)", () => {
  it("OpenCompass: bare letter, then decorated letters, then unique option text", () => {
    assert.equal(openCompassCanInfer("B", CH), "B");
    assert.equal(openCompassCanInfer("C.", CH), "C");
    assert.equal(openCompassCanInfer("(A)", CH), "A");
    assert.equal(openCompassCanInfer("Answer: (B).", CH), "B");
    assert.equal(openCompassCanInfer("It is a kitchen", CH), "A"); // by text
    assert.equal(openCompassCanInfer("A kitchen or a garage", CH), false); // two texts, "A" as article
    assert.equal(openCompassCanInfer("A B", CH), false); // two bare letters
    assert.equal(openCompassCanInfer("E", CH), "E"); // letters A-E whatever the options: counts as wrong
    assert.equal(openCompassCanInfer("I think A is the answer", CH), false); // "A" with > 3 words
    assert.equal(openCompassCanInfer("Failed to obtain answer via API B", CH), false);
  });

  it("VLMEvalKit: punctuation to spaces, only the question's letters, Z for refusals", () => {
    assert.equal(vlmEvalKitCanInfer("(B)", CH), "B");
    assert.equal(vlmEvalKitCanInfer("I think A is the answer", CH), "A"); // the article check needs VERBOSE
    assert.equal(vlmEvalKitCanInfer("E", CH), false);
    assert.equal(vlmEvalKitCanInfer("Z", CH), "Z");
    assert.equal(vlmEvalKitCanInfer("Cannot determine the answer", CH), "Z");
    assert.equal(vlmEvalKitCanInfer("the bedroom", CH), "B");
  });
});

describe("pandas-like reading", () => {
  it("TSV quoting, NA strings and per-column types decide str() of option cells", () => {
    const t = parseTable('index\tA\tB\tC\tD\n1\t3\t"x\ty"\tNone\tTrue\n2\t\tNA\t1.5\tfalse\n', "t.tsv");
    const col = (c: string) => t.columns.get(c)!;
    assert.equal(cellString(col("A"), 0), "3.0"); // int column with a blank is float64
    assert.equal(cellString(col("B"), 0), "x\ty");
    assert.equal(cellString(col("B"), 1), null);
    assert.equal(cellString(col("C"), 1), "1.5");
    assert.equal(cellString(col("D"), 1), "False");
    assert.throws(
      () => parseTable("a\tb\n1\t2\t3\n", "t.tsv"),
      /t.tsv:2: expected 2 tab-separated fields, saw 3/,
    );
  });

  it("Excel round trip: formulas and NA strings come back missing, numbers re-typed", () => {
    assert.equal(excelTextRoundTrip("=A", "x"), null);
    assert.equal(excelTextRoundTrip("=", "x"), "=");
    assert.equal(excelTextRoundTrip("None", "x"), null);
    assert.equal(excelTextRoundTrip("a\r\nb", "x"), "a\nb");
    assert.throws(
      () => excelTextRoundTrip("a\u0001", "answers.jsonl:3"),
      /answers.jsonl:3: .*control character/,
    );
    assert.deepEqual(excelColumnStrings(["1", "2", null]), ["1.0", "2.0", "nan"]);
    assert.deepEqual(excelColumnStrings(["007", "2"]), ["7", "2"]);
    assert.deepEqual(excelColumnStrings(["A", "2"]), ["A", "2"]);
  });
});

describe("MMBench circular scoring (OpenCompass eval_mmbench.py, no judge)", () => {
  const head =
    "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage\tsource\tl2-category\tcomment\tsplit";
  const row = (i: number, opts: string[], ans: string, cat = "scene") =>
    [
      i,
      "What room?",
      "",
      ...opts,
      ...Array(4 - opts.length).fill(""),
      ans,
      cat,
      "img",
      "s",
      "l2",
      "",
      "dev",
    ].join("\t");
  const t = tempFolder({
    "mmbench_dev.tsv": `${[
      head,
      row(1, ["kitchen", "bedroom"], "A"),
      row(1000001, ["bedroom", "kitchen"], "B"),
      row(2, ["red", "blue"], "B", "color"),
      row(1000002, ["blue", "red"], "A", "color"),
    ].join("\n")}\n`,
  });
  after(() => t.remove());
  const a = (id: number, text: string) => ({ question_id: id, prompt: "p", text });

  it("a question counts only if every pass is right", () => {
    t.write({ "answers.jsonl": jsonl([a(1, "A"), a(1000001, "B."), a(2, "B"), a(1000002, "B")]) });
    const s = scoreMmbenchFolder(t.dir);
    assert.equal(s.circular_accuracy, 0.5);
    assert.deepEqual(s.leaf, { color: 0, scene: 1 });
  });

  it("answers only a judge could read count wrong and are reported", () => {
    t.write({ "answers.jsonl": jsonl([a(1, "A"), a(1000001, "hmm"), a(2, "B"), a(1000002, "something")]) });
    const s = scoreMmbenchFolder(t.dir);
    assert.equal(s.circular_accuracy, 0);
    assert.equal(s.unparseable_answers, 2);
    assert.equal(s.groups_needing_judge, 2);
  });

  it("an unreadable pass in a group that is wrong anyway needs no judge", () => {
    t.write({ "answers.jsonl": jsonl([a(1, "B"), a(1000001, "hmm"), a(2, "B"), a(1000002, "A")]) });
    const s = scoreMmbenchFolder(t.dir);
    assert.equal(s.circular_accuracy, 0.5);
    assert.equal(s.groups_needing_judge, 0);
    assert.equal(s.unparseable_answers, 1);
  });

  it("missing passes read 'nan' as the converter writes them; VLMEvalKit leaves them out", () => {
    t.write({ "answers.jsonl": jsonl([a(1, "A"), a(1000001, "B"), a(2, "B")]) });
    assert.throws(() => scoreMmbenchFolder(t.dir), /1 of 4 questions have no prediction \(first: 1000002\)/);
    const oc = scoreMmbenchFolder(t.dir, { allowMissing: true });
    assert.equal(oc.circular_accuracy, 0.5);
    assert.equal(oc.groups_needing_judge, 1);
    const vk = scoreMmbenchFolder(t.dir, { allowMissing: true, variant: "vlmevalkit" });
    assert.equal(vk.circular_accuracy, 1);
  });

  it("string question ids do not match the TSV's integer index", () => {
    t.write({ "answers.jsonl": jsonl([{ question_id: "1", prompt: "p", text: "A" }]) });
    assert.throws(() => scoreMmbenchFolder(t.dir), /4 of 4 questions have no prediction/);
  });
});
