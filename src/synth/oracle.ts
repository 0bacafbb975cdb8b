/**
 * An oracle for the evaluation sets: writes the answers file a perfect model would produce into a benchmark
 * folder, reading only the folder's own ground-truth files (not the generator), in the format `imp eval run`
 * writes (LLaVA answers.jsonl; results.json for VQAv2). Scoring it must give 100% — a check that the sets are
 * consistent and parse with the official formats.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LETTER_PROMPT } from "../eval/tasks.js";
import { writeAtomic } from "../util/atomic-file.js";
import type { EvalBenchmark } from "./testsets.js";

type Json = Record<string, unknown>;

const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8")) as unknown;
const readJsonl = (p: string): Json[] =>
  readFileSync(p, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Json);
const writeJsonl = (p: string, rows: readonly unknown[]) =>
  writeAtomic(p, rows.map((r) => `${JSON.stringify(r)}\n`).join(""));

function line(questionId: unknown, prompt: string, text: string, extra: Json = {}): Json {
  return {
    question_id: questionId,
    prompt,
    text,
    answer_id: "oracle",
    model_id: "oracle",
    ...extra,
    metadata: {},
  };
}

/** Writes the perfect answers for `bench` into `folder` and returns the file written. */
export function writeOracleAnswers(bench: EvalBenchmark, folder: string): string {
  switch (bench) {
    case "vqav2": {
      const ann = (readJson(join(folder, "annotations.json")) as { annotations: Json[] }).annotations;
      const out = join(folder, "results.json");
      writeAtomic(
        out,
        JSON.stringify(ann.map((a) => ({ question_id: a.question_id, answer: a.multiple_choice_answer }))),
      );
      return out;
    }
    case "textvqa":
    case "chartqa": {
      const data = (readJson(join(folder, "TextVQA_0.5.1_val.json")) as { data: Json[] }).data;
      const gt = new Map(
        data.map((d) => [`${d.image_id}\n${String(d.question).toLowerCase()}`, (d.answers as string[])[0]!]),
      );
      const rows = readJsonl(join(folder, "llava_textvqa_val_v051_ocr.jsonl")).map((q) => {
        const prompt = String(q.text);
        return line(
          q.question_id,
          prompt,
          gt.get(`${q.question_id}\n${prompt.split("\n")[0]!.toLowerCase()}`)!,
        );
      });
      const out = join(folder, "answers.jsonl");
      writeJsonl(out, rows);
      return out;
    }
    case "gqa": {
      const qs = readJson(join(folder, "testdev_balanced_questions.json")) as Record<string, Json>;
      const rows = readJsonl(join(folder, "llava_gqa_testdev_balanced.jsonl")).map((q) =>
        line(q.question_id, String(q.text), String(qs[String(q.question_id)]!.answer)),
      );
      const out = join(folder, "answers.jsonl");
      writeJsonl(out, rows);
      return out;
    }
    case "pope": {
      const labels = new Map<string, string[]>();
      const rows = readJsonl(join(folder, "llava_pope_test.jsonl")).map((q) => {
        const cat = String(q.category);
        if (!labels.has(cat))
          labels.set(
            cat,
            readJsonl(join(folder, "coco", `coco_pope_${cat}.json`)).map((r) => String(r.label)),
          );
        const label = labels.get(cat)!.shift()!;
        return line(q.question_id, String(q.text), label === "yes" ? "Yes" : "No");
      });
      const out = join(folder, "answers.jsonl");
      writeJsonl(out, rows);
      return out;
    }
    case "mmbench": {
      const [head, ...body] = readFileSync(join(folder, "mmbench_dev.tsv"), "utf8").trimEnd().split("\n");
      const cols = head!.split("\t");
      const at = (cells: string[], c: string) => cells[cols.indexOf(c)]!;
      const rows = body.map((r) => {
        const cells = r.split("\t");
        const options = ["A", "B", "C", "D"].map((l) => at(cells, l)).filter((o) => o !== "");
        const prompt = [at(cells, "question"), ...options.map((o, i) => `${"ABCD"[i]}. ${o}`)].join("\n");
        return line(Number(at(cells, "index")), prompt, at(cells, "answer"), {
          round_id: 0,
          options,
          option_char: ["A", "B", "C", "D"].slice(0, options.length),
        });
      });
      const out = join(folder, "answers.jsonl");
      writeJsonl(out, rows);
      return out;
    }
    case "scienceqa": {
      const problems = readJson(join(folder, "problems.json")) as Record<string, Json>;
      const items = readJson(join(folder, "llava_test_CQM-A.json")) as Json[];
      const rows = items.map((it) => {
        const pid = String(it.id);
        const value = String((it.conversations as Json[])[0]!.value);
        const prompt = `${value}\n${LETTER_PROMPT}`;
        return line(pid, prompt, "ABCDE"[problems[pid]!.answer as number]!);
      });
      const out = join(folder, "answers.jsonl");
      writeJsonl(out, rows);
      return out;
    }
  }
}
