/**
 * TextVQA scoring, identical to LLaVA `llava/eval/eval_textvqa.py` with `m4c_evaluator.TextVQAAccuracyEvaluator`.
 *
 * - Each answer line is matched to its annotation by (TextVQA `image_id` = the line's `question_id`, question
 *   lower-cased). The question comes out of the line's `prompt`: after "Question: " for prompts starting with
 *   "OCR tokens: "; else, for a 3-line prompt holding "Reference OCR token: ", the line that is not the OCR line;
 *   else the first line of a 2-line prompt; anything else is an error. Annotations with the same key keep the
 *   last one.
 * - Both the prediction and all 10 human answers go through EvalAI's processor (vqa-normalize.ts); an answer's
 *   score is the mean over the 10 leave-one-out subsets of min(#matches / 3, 1), and a prediction no human gave
 *   scores 0. Accuracy is the mean over answer lines, printed as a percentage.
 *
 * The official script scores whatever lines the answers file has; questions no line answers are reported as
 * missing, and --allow-missing scores the lines there are.
 */
import { join } from "node:path";
import { FormatError } from "../util/errors.js";
import { type Coverage, checkCoverage, type ScoreOptions } from "./coverage.js";
import { at, expectArray, expectObject, expectString, field, idKey, readJson, readJsonl } from "./files.js";
import { evalAiProcess } from "./vqa-normalize.js";

/** The question inside a LLaVA TextVQA prompt, lower-cased (eval_textvqa.py `prompt_processor`). */
export function textVqaQuestion(prompt: string, where: string): string {
  let question: string;
  const lines = prompt.split("\n");
  if (prompt.startsWith("OCR tokens: ")) {
    const m = /Question: ([\s\S]*?) Short answer:/.exec(prompt);
    if (!m)
      throw new FormatError(
        `${where}: prompt starts with "OCR tokens: " but has no "Question: ... Short answer:"`,
      );
    question = m[1]!;
  } else if (prompt.includes("Reference OCR token: ") && lines.length === 3) {
    question = prompt.startsWith("Reference OCR token:") ? lines[1]! : lines[0]!;
  } else if (lines.length === 2) {
    question = lines[0]!;
  } else {
    throw new FormatError(
      `${where}: cannot find the question in the prompt (expected "question\\nsuffix" or a 3-line prompt with "Reference OCR token: ")`,
    );
  }
  return question.toLowerCase();
}

/** Scores of every distinct processed human answer (m4c `_compute_answer_scores`). */
export function textVqaAnswerScores(rawAnswers: string[], where = "answers"): Map<string, number> {
  const answers = rawAnswers.map(evalAiProcess);
  if (answers.length !== 10)
    throw new FormatError(`${where}: expected 10 human answers, found ${answers.length}`);
  const scores = new Map<string, number>();
  for (const unique of new Set(answers)) {
    let sum = 0;
    for (let held = 0; held < answers.length; held++) {
      let matches = 0;
      for (let j = 0; j < answers.length; j++) if (j !== held && answers[j] === unique) matches++;
      sum += Math.min(1, matches / 3);
    }
    scores.set(unique, sum / answers.length);
  }
  return scores;
}

/** Score (0-1) of one prediction against 10 human answers. */
export function textVqaScore(prediction: string, humanAnswers: string[]): number {
  return textVqaAnswerScores(humanAnswers).get(evalAiProcess(prediction)) ?? 0;
}

export interface TextVqaScore extends Coverage {
  benchmark: "textvqa";
  /** Percent, unrounded (the script prints it with 2 decimals). */
  accuracy: number;
  /** Answer lines scored. */
  samples: number;
}

export interface TextVqaPaths {
  annotations: string;
  answers: string;
}

export function scoreTextVqa(paths: TextVqaPaths, opts: ScoreOptions = {}): TextVqaScore {
  const root = expectObject(readJson(paths.annotations, "TextVQA annotations file"), paths.annotations);
  const data = expectArray(field(root, "data", paths.annotations), at(paths.annotations, undefined, "data"));
  const anns = new Map<string, string[]>();
  data.forEach((d, i) => {
    const where = at(paths.annotations, undefined, `data[${i}]`);
    const o = expectObject(d, where);
    const key = JSON.stringify([
      idKey(field(o, "image_id", where), `${where}.image_id`),
      expectString(field(o, "question", where), `${where}.question`).toLowerCase(),
    ]);
    const answers = expectArray(field(o, "answers", where), `${where}.answers`).map((a, j) =>
      expectString(a, `${where}.answers[${j}]`),
    );
    anns.set(key, answers);
  });
  const covered = new Set<string>();
  let sum = 0;
  let n = 0;
  for (const rec of readJsonl(paths.answers, "TextVQA answers file")) {
    const where = at(paths.answers, rec.line);
    const o = expectObject(rec.value, where);
    const key = JSON.stringify([
      idKey(field(o, "question_id", where), `${where}.question_id`),
      textVqaQuestion(expectString(field(o, "prompt", where), `${where}.prompt`), where),
    ]);
    const human = anns.get(key);
    if (!human) {
      throw new FormatError(`${where}: no annotation in ${paths.annotations} has this image_id and question`);
    }
    covered.add(key);
    sum +=
      textVqaAnswerScores(human, `${paths.annotations} (${key})`).get(
        evalAiProcess(expectString(field(o, "text", where), `${where}.text`)),
      ) ?? 0;
    n++;
  }
  const missing = [...anns.keys()].filter((k) => !covered.has(k));
  const coverage = checkCoverage(
    paths.answers,
    anns.size,
    missing,
    opts,
    "scores the answer lines there are",
  );
  if (n === 0) throw new FormatError(`${paths.answers}: no answers to score`);
  return { benchmark: "textvqa", accuracy: 100 * (sum / n), samples: n, ...coverage };
}

/** A folder laid out like the fixtures: TextVQA_0.5.1_val.json and answers.jsonl. */
export function scoreTextVqaFolder(folder: string, opts: ScoreOptions = {}): TextVqaScore {
  return scoreTextVqa(
    { annotations: join(folder, "TextVQA_0.5.1_val.json"), answers: join(folder, "answers.jsonl") },
    opts,
  );
}
