/**
 * The runner end to end on tiny generated benchmarks, against a deterministic OpenAI-compatible server:
 * the answers files are in LLaVA's format, runs resume after an interruption, shards merge into the same file
 * as one run, and the official tools' files and scores come out.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  gqaData,
  mmbenchData,
  mmeData,
  popeData,
  scienceQaData,
  textVqaData,
  vqav2Data,
} from "../testing/benchmark-folders.js";
import { type FakeServer, startFakeServer } from "../testing/fake-openai-server.js";
import { tempFolder } from "../testing/temp-folder.js";
import { createLocalAnswerer } from "./local-answerer.js";
import { mergeShards } from "./merge.js";
import { endpointUrls, OpenAiAnswerer } from "./openai-answerer.js";
import { scorePope } from "./pope.js";
import { parseShard, runEval, shardSlice } from "./runner.js";

const readLines = (f: string) =>
  readFileSync(f, "utf8")
    .split("\n")
    .filter((l) => l)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const withoutIds = (rows: Record<string, unknown>[]) => rows.map(({ answer_id: _, ...r }) => r);

describe("evaluation runner", () => {
  let server: FakeServer;
  let answerer: OpenAiAnswerer;
  const out = tempFolder();
  before(async () => {
    server = await startFakeServer();
    answerer = await OpenAiAnswerer.create({ endpoint: server.url, attempts: 2 });
  });
  after(async () => {
    await server.close();
    out.remove();
  });
  const reset = () => {
    server.seen.length = 0;
    server.failWith = null;
    server.failAfter = null;
    server.answered = 0;
    server.delayMs = () => 0;
  };

  it("asks every POPE question greedily with its image, writes LLaVA answer lines, scores and reports", async () => {
    reset();
    const data = popeData();
    const file = join(out.dir, "pope", "answers.jsonl");
    const s = await runEval({ benchmark: "pope", data: data.dir, out: file, answerer, progress: false });
    const rows = readLines(file);
    assert.equal(rows.length, 6);
    assert.deepEqual(Object.keys(rows[0]!), [
      "question_id",
      "prompt",
      "text",
      "answer_id",
      "model_id",
      "metadata",
    ]);
    assert.equal(rows[0]!.model_id, "fake-imp");
    assert.match(
      rows[0]!.prompt as string,
      /^Is there a adversarial-object-0 in the image\?\nAnswer the question/,
    );
    assert.ok(!(rows[0]!.text as string).startsWith(" ")); // stripped like LLaVA's outputs
    assert.match(readFileSync(file, "utf8"), /^\{"question_id": 1, "prompt": /); // Python json.dumps style
    assert.equal(server.seen.length, 6);
    for (const r of server.seen) {
      assert.equal(r.temperature, 0);
      assert.equal(r.max_tokens, 128);
      assert.equal(r.model, "fake-imp");
      assert.match(r.imageUrl ?? "", /^data:image\/png;base64,iVBOR/);
    }
    const expected = scorePope({
      annotationDir: join(data.dir, "coco"),
      questions: join(data.dir, "llava_pope_test.jsonl"),
      answers: file,
    });
    assert.deepEqual(s.score?.f1, expected.f1);
    assert.equal(s.partial, false);
    assert.equal(s.answered_now, 6);
    assert.ok(existsSync(join(out.dir, "pope", "answers.summary.json")));
    assert.match(
      readFileSync(join(out.dir, "pope", "answers.report.md"), "utf8"),
      /# POPE: fake-imp[\s\S]*\| f1 \|/,
    );
    data.remove();
  });

  it("resumes after an interrupted run: answered questions are not asked again, a torn line is redone", async () => {
    reset();
    const data = popeData(3);
    const file = join(out.dir, "resume", "answers.jsonl");
    server.failAfter = 4;
    await assert.rejects(
      runEval({ benchmark: "pope", data: data.dir, out: file, answerer, progress: false }),
      /stopped after 4 of 9 answers.*Run the same command again to resume/,
    );
    const firstFour = readFileSync(file, "utf8");
    assert.equal(readLines(file).length, 4);
    // A kill in the middle of a write leaves half a line.
    writeFileSync(file, `${firstFour}{"question_id": 5, "prom`);
    reset();
    const s = await runEval({ benchmark: "pope", data: data.dir, out: file, answerer, progress: false });
    assert.equal(server.seen.length, 5);
    assert.equal(s.answered_before, 4);
    assert.equal(s.answered_now, 5);
    assert.ok(readFileSync(file, "utf8").startsWith(firstFour));
    assert.deepEqual(
      readLines(file).map((r) => r.question_id),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    // Nothing left to ask.
    reset();
    const again = await runEval({ benchmark: "pope", data: data.dir, out: file, answerer, progress: false });
    assert.equal(server.seen.length, 0);
    assert.equal(again.answered_before, 9);
    data.remove();
  });

  it("--limit answers a prefix and scores it as partial; a rerun without it completes", async () => {
    reset();
    const data = popeData();
    const file = join(out.dir, "limit", "answers.jsonl");
    const s = await runEval({
      benchmark: "pope",
      data: data.dir,
      out: file,
      answerer,
      progress: false,
      limit: 2,
    });
    assert.equal(s.partial, true);
    assert.equal(readLines(file).length, 2);
    assert.ok(s.score);
    const full = await runEval({ benchmark: "pope", data: data.dir, out: file, answerer, progress: false });
    assert.equal(full.partial, false);
    assert.equal(readLines(file).length, 6);
    data.remove();
  });

  it("shards cut like LLaVA's get_chunk, merge in question order whatever the listing order", async () => {
    assert.deepEqual(parseShard("1/3"), { index: 1, count: 3 });
    assert.throws(() => parseShard("3/3"), /0 <= i < n/);
    assert.deepEqual(shardSlice([1, 2, 3, 4, 5], { index: 2, count: 3 }), [5]);
    assert.deepEqual(shardSlice([1, 2, 3, 4, 5], { index: 3, count: 4 }), []); // ceil(5/4)=2: 3 chunks only
    reset();
    const data = popeData(3);
    const shards: string[] = [];
    for (let i = 0; i < 4; i++) {
      const f = join(out.dir, "shards", `4_${i}.jsonl`);
      const s = await runEval({
        benchmark: "pope",
        data: data.dir,
        out: f,
        answerer,
        progress: false,
        shard: { index: i, count: 4 },
      });
      assert.equal(s.score, null); // shards are scored after the merge
      shards.push(f);
    }
    assert.equal(server.seen.length, 9);
    const merged = join(out.dir, "shards", "merge.jsonl");
    const m = mergeShards({ benchmark: "pope", data: data.dir, out: merged, shards: [...shards].reverse() });
    assert.equal(m.summary.missing, 0);
    assert.equal(m.dropped, 0);
    const single = join(out.dir, "shards", "single.jsonl");
    const s1 = await runEval({ benchmark: "pope", data: data.dir, out: single, answerer, progress: false });
    assert.deepEqual(withoutIds(readLines(merged)), withoutIds(readLines(single)));
    assert.deepEqual(m.summary.score?.f1, s1.score?.f1);
    // A shard's file holds only its own questions.
    await assert.rejects(
      runEval({
        benchmark: "pope",
        data: data.dir,
        out: shards[0]!,
        answerer,
        progress: false,
        shard: { index: 1, count: 4 },
      }),
      /answer lines match no question of this run/,
    );
    data.remove();
  });

  it("keeps question order with several requests in flight", async () => {
    reset();
    server.delayMs = (i) => [30, 1, 15, 5, 0, 20][i % 6]!;
    const data = popeData();
    const file = join(out.dir, "conc", "answers.jsonl");
    await runEval({
      benchmark: "pope",
      data: data.dir,
      out: file,
      answerer,
      progress: false,
      concurrency: 3,
    });
    assert.deepEqual(
      readLines(file).map((r) => r.question_id),
      [1, 2, 3, 4, 5, 6],
    );
    data.remove();
  });

  it("MMBench: one task per TSV row, options in the prompt, letter instruction only to the model", async () => {
    reset();
    const data = mmbenchData();
    const file = join(out.dir, "mmb", "answers.jsonl");
    const s = await runEval({ benchmark: "mmbench", data: data.dir, out: file, answerer, progress: false });
    const rows = readLines(file);
    assert.equal(rows.length, 5);
    assert.deepEqual(Object.keys(rows[0]!), [
      "question_id",
      "round_id",
      "prompt",
      "text",
      "options",
      "option_char",
      "answer_id",
      "model_id",
      "metadata",
    ]);
    const r2 = rows.find((r) => r.question_id === 1)!;
    assert.equal(r2.prompt, "Look at the bus.\nWhich colour?\nA. red\nB. blue");
    assert.deepEqual(r2.option_char, ["A", "B"]);
    assert.ok(
      server.seen.every((x) =>
        x.prompt.endsWith("\nAnswer with the option's letter from the given choices directly."),
      ),
    );
    assert.ok(server.seen.every((x) => x.imageUrl?.startsWith("data:image/png;base64,")));
    assert.equal(server.seen[0]!.max_tokens, 1024);
    assert.equal(typeof s.score?.circular_accuracy, "number");
    assert.equal(typeof s.score?.groups_needing_judge, "number");
    data.remove();
  });

  it("ScienceQA: image questions get '<image>\\n' in the recorded prompt; text-only ones have no image", async () => {
    reset();
    const data = scienceQaData();
    const file = join(out.dir, "sqa", "answers.jsonl");
    const s = await runEval({ benchmark: "scienceqa", data: data.dir, out: file, answerer, progress: false });
    const rows = readLines(file);
    assert.match(
      rows[0]!.prompt as string,
      /^<image>\nContext: N\/A\n[\s\S]*\nAnswer with the option's letter/,
    );
    assert.match(
      rows[2]!.prompt as string,
      /^<image>\nWhich is heavier\?\nOptions: \(A\) rock \(B\) feather\nAnswer with/,
    );
    assert.ok(!(rows[1]!.prompt as string).includes("<image>"));
    assert.equal(server.seen[1]!.imageUrl, null);
    assert.equal(s.score?.img_total, 2);
    const plain = await runEval({
      benchmark: "scienceqa",
      data: data.dir,
      out: join(out.dir, "sqa", "plain.jsonl"),
      answerer,
      progress: false,
      singlePredPrompt: false,
    });
    assert.equal(plain.in_run, 3);
    assert.ok(!server.seen.at(-1)!.prompt.includes("letter"));
    data.remove();
  });

  it("MME: writes the eval_tool folder with ground truth and scores it", async () => {
    reset();
    const data = mmeData();
    const file = join(out.dir, "mme", "answers.jsonl");
    const s = await runEval({
      benchmark: "mme",
      data: data.dir,
      out: file,
      answerer,
      progress: false,
      allowMissing: true,
    });
    const ocr = readFileSync(join(out.dir, "mme", "answers.mme", "OCR.txt"), "utf8").split("\n");
    assert.equal(ocr.length, 5); // 4 lines + final newline
    assert.match(
      ocr[0]!,
      /^0001\.txt\tIs there a thing 0001 in this image\? Please answer yes or no\.\tYes\t/,
    );
    assert.equal(typeof s.score?.perception, "number");
    assert.equal(s.score?.missing, 12); // 12 of 14 subtasks have no questions in this tiny set
    data.remove();
  });

  it("VQAv2: writes the upload file over the full test split, '' for unanswered; no local score", async () => {
    reset();
    const data = vqav2Data();
    const file = join(out.dir, "vqa", "answers.jsonl");
    const s = await runEval({ benchmark: "vqav2", data: data.dir, out: file, answerer, progress: false });
    const upload = JSON.parse(readFileSync(join(out.dir, "vqa", "answers.submission.json"), "utf8")) as {
      question_id: number;
      answer: string;
    }[];
    assert.deepEqual(
      upload.map((u) => u.question_id),
      [1, 2, 3],
    );
    assert.equal(upload[2]!.answer, "");
    assert.ok(
      upload.slice(0, 2).every((u) => u.answer === u.answer.toLowerCase() && !u.answer.endsWith(".")),
    );
    assert.equal(s.score, null);
    assert.match(s.score_note ?? "", /EvalAI/);
    data.remove();
  });

  it("TextVQA and GQA: repeated ids are told apart by prompt; scores and GQA predictions file", async () => {
    reset();
    const t = textVqaData();
    const ts = await runEval({
      benchmark: "textvqa",
      data: t.dir,
      out: join(out.dir, "tv", "a.jsonl"),
      answerer,
      progress: false,
    });
    assert.equal(ts.in_run, 3);
    assert.equal(typeof ts.score?.accuracy, "number");
    t.remove();
    const g = gqaData();
    const gs = await runEval({
      benchmark: "gqa",
      data: g.dir,
      out: join(out.dir, "gqa", "a.jsonl"),
      answerer,
      progress: false,
    });
    assert.equal(typeof gs.score?.accuracy, "number");
    const preds = JSON.parse(readFileSync(join(out.dir, "gqa", "a.gqa_predictions.json"), "utf8")) as {
      questionId: string;
    }[];
    assert.deepEqual(
      preds.map((p) => p.questionId),
      ["201", "202"],
    );
    g.remove();
  });

  it("endpoint forms, errors and the local-model hook", async () => {
    assert.deepEqual(endpointUrls("http://h:1/"), {
      chat: "http://h:1/v1/chat/completions",
      models: "http://h:1/v1/models",
    });
    assert.equal(endpointUrls("http://h:1/v1/chat/completions").chat, "http://h:1/v1/chat/completions");
    reset();
    server.failWith = 503;
    await assert.rejects(
      answerer.answer({ prompt: "x", maxTokens: 4 }),
      /no answer after 2 attempt\(s\): HTTP 503/,
    );
    assert.equal(server.seen.length, 2); // retried
    reset();
    await assert.rejects(createLocalAnswerer("/some/model", { backend: "js" }), /does not exist/);
    const data = popeData();
    await assert.rejects(
      runEval({
        benchmark: "pope",
        data: data.dir,
        out: join(out.dir, "x.jsonl"),
        answerer,
        progress: false,
        questions: "nope.jsonl",
      }),
      /nope.jsonl: question file not found/,
    );
    data.remove();
  });
});
