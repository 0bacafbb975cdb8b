// The evaluation sets parse in the official formats, match their LLaVA question files, load as `imp eval run`
// tasks, and a perfect answers file (oracle.ts) scores 100% / F1 1.0 through the project's scorers.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type BenchmarkName, scoreFolder } from "../eval/benchmarks.js";
import { loadTasks } from "../eval/tasks.js";
import { writeOracleAnswers } from "./oracle.js";
import { encodePng } from "./png.js";
import { renderScene } from "./render.js";
import { EVAL_BENCHMARKS, type EvalCounts, SCORER_OF, writeEvalSets } from "./testsets.js";
import { makeScene, splitSeeds } from "./world.js";

const dir = mkdtempSync(join(tmpdir(), "imp-evalsets-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const scenes = splitSeeds("test", 120).map((s) => makeScene(s));
const counts: EvalCounts = writeEvalSets({
  dir,
  scenes,
  png: (s) => encodePng(renderScene(s)),
  popeImages: 25,
  mcQuestions: 40,
});

type Json = Record<string, unknown>;
const json = (b: string, f: string) => JSON.parse(readFileSync(join(dir, b, f), "utf8")) as Json;
const jsonl = (b: string, f: string) =>
  readFileSync(join(dir, b, f), "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as Json);

test("every benchmark has questions", () => {
  for (const b of EVAL_BENCHMARKS) assert.ok(counts[b] > 0, `${b}: ${counts[b]}`);
});

test("VQAv2: questions and annotations agree, 10 answers each, answer types", () => {
  const qs = json("vqav2", "questions.json").questions as Json[];
  const anns = (json("vqav2", "annotations.json").annotations as Json[]).map((a) => a);
  const lines = jsonl("vqav2", "llava_vqav2_mscoco_test-dev2015.jsonl");
  assert.equal(qs.length, counts.vqav2);
  assert.equal(anns.length, qs.length);
  assert.equal(lines.length, qs.length);
  assert.equal(new Set(qs.map((q) => q.question_id)).size, qs.length);
  anns.forEach((a, i) => {
    assert.equal(a.question_id, qs[i]!.question_id);
    const answers = a.answers as Json[];
    assert.equal(answers.length, 10);
    assert.ok(answers.every((x) => x.answer === a.multiple_choice_answer));
    assert.ok(["yes/no", "number", "other"].includes(String(a.answer_type)));
    assert.equal(lines[i]!.text, `${qs[i]!.question}\nAnswer the question using a single word or phrase.`);
    assert.ok(existsSync(join(dir, "vqav2", "test2015", String(lines[i]!.image))));
  });
});

test("POPE: label files line up with the question file; 3 yes and 3 no per image and kind", () => {
  const q = jsonl("pope", "llava_pope_test.jsonl");
  for (const kind of ["adversarial", "popular", "random"]) {
    const labels = jsonl("pope", `coco/coco_pope_${kind}.json`);
    const mine = q.filter((x) => x.category === kind);
    assert.equal(labels.length, mine.length);
    labels.forEach((l, i) => {
      assert.equal(`${l.text}\nAnswer the question using a single word or phrase.`, mine[i]!.text);
      assert.equal(l.image, mine[i]!.image);
    });
    const perImage = new Map<string, string[]>();
    for (const l of labels)
      perImage.set(String(l.image), [...(perImage.get(String(l.image)) ?? []), String(l.label)]);
    for (const ls of perImage.values()) assert.deepEqual(ls.sort(), ["no", "no", "no", "yes", "yes", "yes"]);
  }
  assert.equal(new Set(q.map((x) => x.question_id)).size, q.length);
});

test("TextVQA layouts: (image, question) keys are unique and every line has its annotation", () => {
  for (const b of ["textvqa", "chartqa"]) {
    const data = json(b, "TextVQA_0.5.1_val.json").data as Json[];
    const keys = new Set(data.map((d) => `${d.image_id}|${String(d.question).toLowerCase()}`));
    assert.equal(keys.size, data.length, `${b}: repeated (image, question)`);
    for (const d of data) assert.equal((d.answers as string[]).length, 10);
    for (const l of jsonl(b, "llava_textvqa_val_v051_ocr.jsonl")) {
      assert.ok(keys.has(`${l.question_id}|${String(l.text).split("\n")[0]!.toLowerCase()}`));
    }
  }
});

test("MMBench: every question has one circular pass per option with the answer rotated", () => {
  const rows = readFileSync(join(dir, "mmbench", "mmbench_dev.tsv"), "utf8")
    .trimEnd()
    .split("\n");
  const head = rows[0]!.split("\t");
  const col = (r: string[], c: string) => r[head.indexOf(c)]!;
  const byBase = new Map<number, string[][]>();
  for (const line of rows.slice(1)) {
    const r = line.split("\t");
    assert.equal(r.length, head.length);
    const idx = Number(col(r, "index"));
    byBase.set(idx % 1_000_000, [...(byBase.get(idx % 1_000_000) ?? []), r]);
  }
  assert.equal(byBase.size, counts.scienceqa);
  for (const passes of byBase.values()) {
    const opts = (r: string[]) => ["A", "B", "C", "D"].map((l) => col(r, l)).filter((o) => o !== "");
    const right = (r: string[]) => col(r, col(r, "answer"));
    assert.equal(passes.length, opts(passes[0]!).length);
    const answers = new Set(passes.map(right));
    assert.equal(answers.size, 1, "the right option's text is the same in every pass");
  }
  assert.equal(
    readFileSync(join(dir, "mmbench", "mmbench_dev_20230712.tsv"), "utf8"),
    `${rows.join("\n")}\n`,
  );
});

test("the LLaVA question files load as eval tasks with their images", () => {
  for (const b of EVAL_BENCHMARKS) {
    const tasks = loadTasks(SCORER_OF[b] as BenchmarkName, join(dir, b));
    const expected = b === "scienceqa" ? counts.scienceqa : counts[b];
    assert.equal(tasks.length, expected, b);
    for (const t of tasks) {
      assert.ok(t.image !== null, `${b}: a task without an image`);
      if ("path" in t.image) assert.ok(existsSync(t.image.path), `${b}: ${t.image.path} missing`);
      else assert.ok(t.image.base64.length > 100, `${b}: empty inline image`);
    }
  }
});

test("a perfect answers file scores 100% through imp eval score's scorers", () => {
  for (const b of EVAL_BENCHMARKS) {
    writeOracleAnswers(b, join(dir, b));
    const s = scoreFolder(SCORER_OF[b], join(dir, b)) as Json;
    assert.equal(s.missing, 0, b);
    switch (SCORER_OF[b]) {
      case "vqav2":
        assert.equal(s.overall, 100);
        assert.equal(s.overall_after_llava_processing, 100);
        break;
      case "gqa":
      case "textvqa":
        assert.equal(s.accuracy, 100, b);
        break;
      case "pope":
        assert.deepEqual(s.f1, { adversarial: 1, popular: 1, random: 1 });
        break;
      case "mmbench":
        assert.equal(s.circular_accuracy, 1);
        break;
      case "scienceqa":
        assert.equal(s.img_accuracy, 100);
        break;
    }
  }
});
