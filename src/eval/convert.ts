/**
 * Converters from LLaVA's answers.jsonl to the files the official tools take, doing what LLaVA's scripts do:
 *
 * - VQAv2 (`scripts/convert_vqav2_for_submission.py`): one `{question_id, answer}` per question of the *full*
 *   test split file (`llava_vqav2_mscoco_test2015.jsonl`), the answer passed through EvalAI's processor, "" for
 *   questions not answered; lines that are not JSON are skipped and counted; the last answer of an id wins.
 * - MME (`playground/data/eval/MME/convert_answer_to_mme.py`): one `<category>.txt` per category (the part of
 *   `question_id` before the first "/"), lines `file \t question \t gt \t answer` in answer order, where file is
 *   the image's base name + ".txt", the question is the prompt without "Answer the question using a single word
 *   or phrase." (and with " Please answer yes or no." added if absent, or two spaces when that is what the
 *   ground truth holds), and gt is looked up in MME_Benchmark_release_version (`<category>/questions_answers_YN/
 *   *.txt` or `<category>/*.txt`, lines `question \t answer`).
 * - GQA (`scripts/convert_gqa_for_eval.py`): `[{questionId, prediction}]` with `text.rstrip('.').lower()`.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeAtomic, writeJsonAtomic } from "../util/atomic-file.js";
import { FormatError } from "../util/errors.js";
import { at, expectObject, expectString, field, idKey, readJsonl, readText } from "./files.js";
import { gqaPrediction } from "./gqa.js";
import { pyStrip } from "./python-compat.js";
import { SHORT_ANSWER_PROMPT } from "./tasks.js";
import { evalAiProcess } from "./vqa-normalize.js";

export interface Vqav2Submission {
  answers: { question_id: unknown; answer: string }[];
  missing: number;
  errorLines: number;
}

/** Builds the VQAv2 upload from an answers file and the full test split's question file. */
export function vqav2Submission(answersFile: string, testSplitFile: string): Vqav2Submission {
  const results = new Map<string, string>();
  let errorLines = 0;
  const text = readText(answersFile, "answers file");
  for (const raw of text.split("\n")) {
    if (raw === "") continue;
    try {
      const o = JSON.parse(raw) as Record<string, unknown>;
      results.set(idKey(o.question_id, answersFile), String(o.text));
    } catch {
      errorLines++;
    }
  }
  let missing = 0;
  const answers = readJsonl(testSplitFile, "VQAv2 test split question file").map((rec) => {
    const where = at(testSplitFile, rec.line);
    const qid = field(expectObject(rec.value, where), "question_id", where);
    const t = results.get(idKey(qid, where));
    if (t === undefined) missing++;
    return { question_id: qid, answer: t === undefined ? "" : evalAiProcess(t) };
  });
  return { answers, missing, errorLines };
}

export function writeVqav2Submission(
  answersFile: string,
  testSplitFile: string,
  outFile: string,
): Vqav2Submission {
  const sub = vqav2Submission(answersFile, testSplitFile);
  writeAtomic(outFile, JSON.stringify(sub.answers));
  return sub;
}

/** MME ground truth: (category, txt file, question) -> answer. */
export function readMmeGroundTruth(root: string): Map<string, string> {
  if (!existsSync(root)) throw new FormatError(`${root}: MME_Benchmark_release_version folder not found`);
  const gt = new Map<string, string>();
  for (const category of readdirSync(root).sort()) {
    const dir = join(root, category);
    if (!statSync(dir).isDirectory()) continue;
    const qaDir = existsSync(join(dir, "images")) ? join(dir, "questions_answers_YN") : dir;
    if (!existsSync(qaDir)) throw new FormatError(`${qaDir}: MME question/answer folder not found`);
    for (const file of readdirSync(qaDir).sort()) {
      if (!file.endsWith(".txt")) continue;
      const path = join(qaDir, file);
      readText(path)
        .split("\n")
        .forEach((line, i) => {
          if (line === "" && i > 0) return;
          const parts = pyStrip(line).split("\t");
          if (parts.length !== 2) throw new FormatError(`${path}:${i + 1}: expected "question<TAB>answer"`);
          gt.set(JSON.stringify([category, file, parts[0]]), parts[1]!);
        });
    }
  }
  return gt;
}

/** Writes the MME eval_tool folder (`<category>.txt` files) for an answers file. */
export function writeMmeResults(
  answersFile: string,
  gtRoot: string,
  outDir: string,
): { categories: string[] } {
  const gt = readMmeGroundTruth(gtRoot);
  const byCategory = new Map<string, string[]>();
  for (const rec of readJsonl(answersFile, "MME answers file")) {
    const where = at(answersFile, rec.line);
    const o = expectObject(rec.value, where);
    const qid = expectString(field(o, "question_id", where), `${where}.question_id`);
    const category = qid.split("/")[0]!;
    const file = `${qid.split("/").at(-1)!.split(".")[0]}.txt`;
    let prompt = expectString(field(o, "prompt", where), `${where}.prompt`);
    if (prompt.includes(SHORT_ANSWER_PROMPT)) prompt = pyStrip(prompt.replaceAll(SHORT_ANSWER_PROMPT, ""));
    if (!prompt.includes("Please answer yes or no.")) {
      prompt = `${prompt} Please answer yes or no.`;
      if (!gt.has(JSON.stringify([category, file, prompt]))) {
        prompt = prompt.replace(" Please answer yes or no.", "  Please answer yes or no.");
      }
    }
    const answer = gt.get(JSON.stringify([category, file, prompt]));
    if (answer === undefined) {
      throw new FormatError(
        `${where}: no ground truth for ${category}/${file} question ${JSON.stringify(prompt)} in ${gtRoot}`,
      );
    }
    const text = expectString(field(o, "text", where), `${where}.text`);
    if (!byCategory.has(category)) byCategory.set(category, []);
    byCategory.get(category)!.push(`${[file, prompt, answer, text].join("\t")}\n`);
  }
  mkdirSync(outDir, { recursive: true });
  for (const [category, lines] of byCategory) writeAtomic(join(outDir, `${category}.txt`), lines.join(""));
  return { categories: [...byCategory.keys()] };
}

/** Writes GQA's predictions file (testdev_balanced_predictions.json). */
export function writeGqaPredictions(answersFile: string, outFile: string): number {
  const preds = readJsonl(answersFile, "GQA answers file").map((rec) => {
    const where = at(answersFile, rec.line);
    const o = expectObject(rec.value, where);
    return {
      questionId: field(o, "question_id", where),
      prediction: gqaPrediction(expectString(field(o, "text", where), `${where}.text`)),
    };
  });
  writeJsonAtomic(outFile, preds);
  return preds.length;
}
