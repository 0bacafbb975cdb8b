/**
 * ScienceQA scoring, identical to LLaVA `llava/eval/eval_science_qa.py` (options A-E, split "test").
 *
 * - Letter parsing of an answer text: the text is exactly one of "A".."E"; or it is at least 3 characters, its
 *   first is one of A-E and the next two are ". "; or `The answer is ([A-Z]).` (the final "." is any character
 *   but a newline) matches exactly once in it; otherwise "FAILED".
 * - The letter counts only if it names one of the problem's choices (a letter past the last choice, or FAILED,
 *   is index -1); the answer is right when that index equals the problem's 0-based `answer`.
 * - Every problem of the split is scored; one without a prediction is FAILED (the script does this itself,
 *   so --allow-missing gives the script's number).
 * - IMG accuracy is over problems whose answer line's `prompt` contains "<image>" (a missing prediction never
 *   counts as multimodal). Variant `imp` (MILVLG/imp `imp_llava/eval/eval_science_qa.py`) counts every problem
 *   that has a prediction as multimodal instead.
 * - Percentages are computed as correct / total * 100 (in that order, which decides the last bit); null when a
 *   group is empty (the script divides by zero).
 */
import { join } from "node:path";
import { FormatError } from "../util/errors.js";
import { type Coverage, checkCoverage, type ScoreOptions } from "./coverage.js";
import {
  at,
  expectArray,
  expectObject,
  expectString,
  field,
  idKey,
  type JsonObject,
  readJson,
  readJsonl,
} from "./files.js";
import { pyDiv, pyLen } from "./python-compat.js";

export const SCIENCEQA_VARIANTS = ["llava", "imp"] as const;
const OPTIONS = ["A", "B", "C", "D", "E"];

/** The letter eval_science_qa.py reads from an answer text, or "FAILED". */
export function scienceQaLetter(predText: string): string {
  if (OPTIONS.includes(predText)) return predText;
  const cps = Array.from(predText);
  if (pyLen(predText) >= 3 && OPTIONS.includes(cps[0]!) && cps[1] === "." && cps[2] === " ") return cps[0]!;
  const matches = [...predText.matchAll(/The answer is ([A-Z])[^\n]/gu)];
  return matches.length === 1 ? matches[0]![1]! : "FAILED";
}

/** The choice index a parsed letter names, or -1 (eval_science_qa.py `get_pred_idx`). */
export function scienceQaPredIdx(letter: string, numChoices: number): number {
  const i = OPTIONS.slice(0, numChoices).indexOf(letter);
  return i;
}

export interface ScienceQaScore extends Coverage {
  benchmark: "scienceqa";
  variant: (typeof SCIENCEQA_VARIANTS)[number];
  /** ScienceQA-IMG accuracy, percent. */
  img_accuracy: number | null;
  /** Accuracy over the whole split, percent. */
  all_accuracy: number | null;
  total: number;
  correct: number;
  img_total: number;
  img_correct: number;
  /** Answers whose letter could not be read (missing predictions included). */
  failed: number;
}

export interface ScienceQaPaths {
  problems: string;
  pidSplits: string;
  answers: string;
}

export function scoreScienceQa(paths: ScienceQaPaths, opts: ScoreOptions = {}): ScienceQaScore {
  const variant = (opts.variant ?? "llava") as ScienceQaScore["variant"];
  if (!SCIENCEQA_VARIANTS.includes(variant)) {
    throw new FormatError(
      `scienceqa: unknown variant "${opts.variant}" (known: ${SCIENCEQA_VARIANTS.join(", ")})`,
    );
  }
  const split = opts.split ?? "test";
  const splits = expectObject(readJson(paths.pidSplits, "ScienceQA pid_splits.json"), paths.pidSplits);
  const ids = expectArray(field(splits, split, paths.pidSplits), at(paths.pidSplits, undefined, split));
  const problems = expectObject(readJson(paths.problems, "ScienceQA problems.json"), paths.problems);
  const predictions = new Map<string, JsonObject>();
  for (const rec of readJsonl(paths.answers, "ScienceQA answers file")) {
    const where = at(paths.answers, rec.line);
    const o = expectObject(rec.value, where);
    expectString(field(o, "text", where), `${where}.text`);
    expectString(field(o, "prompt", where), `${where}.prompt`);
    predictions.set(idKey(field(o, "question_id", where), `${where}.question_id`), o);
  }

  // {idx: problems[idx] for idx in split}: a repeated id is scored once.
  const splitIds = [
    ...new Set(ids.map((id, i) => expectString(id, at(paths.pidSplits, undefined, `${split}[${i}]`)))),
  ];
  const missing = splitIds.filter((id) => !predictions.has(`s:${id}`)).map((id) => `s:${id}`);
  const coverage = checkCoverage(
    paths.answers,
    splitIds.length,
    missing,
    opts,
    "counts them as FAILED, as eval_science_qa.py does",
  );

  let correct = 0;
  let imgTotal = 0;
  let imgCorrect = 0;
  let failed = 0;
  for (const id of splitIds) {
    const where = at(paths.problems, undefined, id);
    if (!Object.hasOwn(problems, id))
      throw new FormatError(`${where}: problem listed in ${paths.pidSplits} is missing`);
    const prob = expectObject(problems[id], where);
    const choices = expectArray(field(prob, "choices", where), `${where}.choices`);
    const answer = field(prob, "answer", where);
    if (typeof answer !== "number" || !Number.isInteger(answer) || answer < 0 || answer >= OPTIONS.length) {
      throw new FormatError(`${where}.answer: expected a choice index 0-4, found ${JSON.stringify(answer)}`);
    }
    const pred = predictions.get(`s:${id}`);
    const text = pred ? (pred.text as string) : "FAILED";
    const letter = scienceQaLetter(text);
    if (letter === "FAILED") failed++;
    const isRight = scienceQaPredIdx(letter, choices.length) === answer;
    const multimodal =
      variant === "imp"
        ? pred !== undefined
        : pred !== undefined && (pred.prompt as string).includes("<image>");
    if (isRight) correct++;
    if (multimodal) {
      imgTotal++;
      if (isRight) imgCorrect++;
    }
  }
  const pct = (a: number, b: number) => {
    const f = pyDiv(a, b);
    return f === null ? null : f * 100;
  };
  return {
    benchmark: "scienceqa",
    variant,
    img_accuracy: pct(imgCorrect, imgTotal),
    all_accuracy: pct(correct, splitIds.length),
    total: splitIds.length,
    correct,
    img_total: imgTotal,
    img_correct: imgCorrect,
    failed,
    ...coverage,
  };
}

/** A folder laid out like the fixtures: problems.json, pid_splits.json, answers.jsonl. */
export function scoreScienceQaFolder(folder: string, opts: ScoreOptions = {}): ScienceQaScore {
  return scoreScienceQa(
    {
      problems: join(folder, "problems.json"),
      pidSplits: join(folder, "pid_splits.json"),
      answers: join(folder, "answers.jsonl"),
    },
    opts,
  );
}
