/**
 * GQA scoring, identical to LLaVA `scripts/convert_gqa_for_eval.py` followed by GQA's official `eval.py`
 * (from the GQA site's eval.zip, with LLaVA's patch: questions from `{tier}_questions.json`; scene graphs,
 * choices, consistency and grounding off).
 *
 * - Conversion: a prediction is the answer text with trailing periods removed, lower-cased
 *   (`text.rstrip('.').lower()`); the last line for a question id wins.
 * - Only questions with `isBalanced` count. Accuracy is exact string match with `answer`; `open` is over
 *   questions whose structural type is "query", `binary` over all others; per structural and semantic type too.
 *   All are 100 * mean, 0 for an empty group.
 * - Distribution: for each `groups.global` (null skipped), chi-square of the predicted answer counts against the
 *   gold counts over the gold answers, weighted by the group size, averaged, divided by 100 (null when no
 *   question has a global group, where the script divides by zero).
 *
 * Every balanced question needs a prediction (the script raises); --allow-missing scores the predicted ones.
 */
import { join } from "node:path";
import { FormatError } from "../util/errors.js";
import { type Coverage, checkCoverage, type ScoreOptions } from "./coverage.js";
import {
  at,
  expectObject,
  expectString,
  field,
  idKey,
  parseJson,
  readJsonl,
  readText,
  topLevelKeys,
} from "./files.js";
import { pyRstrip, pyTruthy } from "./python-compat.js";

/** LLaVA's conversion of an answer text to a GQA prediction. */
export function gqaPrediction(text: string): string {
  return pyRstrip(text, ".").toLowerCase();
}

export interface GqaScore extends Coverage {
  benchmark: "gqa";
  /** Percent over balanced questions. */
  accuracy: number;
  binary: number;
  open: number;
  distribution: number | null;
  per_structural_type: Record<string, number>;
  per_semantic_type: Record<string, number>;
}

export interface GqaPaths {
  questions: string;
  answers: string;
}

/** Reads LLaVA answers.jsonl into GQA predictions (question id key -> prediction). */
export function readGqaPredictions(answersFile: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rec of readJsonl(answersFile, "GQA answers file")) {
    const where = at(answersFile, rec.line);
    const o = expectObject(rec.value, where);
    out.set(
      idKey(field(o, "question_id", where), `${where}.question_id`),
      gqaPrediction(expectString(field(o, "text", where), `${where}.text`)),
    );
  }
  return out;
}

function avg100(l: number[]): number {
  if (l.length === 0) return 0;
  let s = 0;
  for (const v of l) s += v;
  return (s / l.length) * 100;
}

export function scoreGqa(paths: GqaPaths, opts: ScoreOptions = {}): GqaScore {
  const text = readText(paths.questions, "GQA questions file");
  const questions = expectObject(parseJson(text, paths.questions), paths.questions);
  const predictions = readGqaPredictions(paths.answers);
  const balanced: string[] = [];
  // Python iterates the questions in file order; JSON.parse would put numeric-looking ids first.
  for (const qid of topLevelKeys(text)) {
    const where = at(paths.questions, undefined, qid);
    if (pyTruthy(expectObject(questions[qid], where).isBalanced)) balanced.push(qid);
  }
  const missing = balanced.filter((qid) => !predictions.has(`s:${qid}`)).map((qid) => `s:${qid}`);
  const coverage = checkCoverage(
    paths.answers,
    balanced.length,
    missing,
    opts,
    "scores the predicted questions",
  );

  const acc: number[] = [];
  const binary: number[] = [];
  const open: number[] = [];
  const perStructural = new Map<string, number[]>();
  const perSemantic = new Map<string, number[]>();
  const gold = new Map<string, Map<string, number>>();
  const predicted = new Map<string, Map<string, number>>();
  const bump = (m: Map<string, Map<string, number>>, g: string, a: string) => {
    if (!m.has(g)) m.set(g, new Map());
    const h = m.get(g)!;
    h.set(a, (h.get(a) ?? 0) + 1);
  };
  for (const qid of balanced) {
    const pred = predictions.get(`s:${qid}`);
    if (pred === undefined) continue;
    const where = at(paths.questions, undefined, qid);
    const q = questions[qid] as Record<string, unknown>;
    const goldAnswer = expectString(field(q, "answer", where), `${where}.answer`);
    const types = expectObject(field(q, "types", where), `${where}.types`);
    const structural = expectString(field(types, "structural", where), `${where}.types.structural`);
    const semantic = expectString(field(types, "semantic", where), `${where}.types.semantic`);
    const score = pred === goldAnswer ? 1 : 0;
    acc.push(score);
    if (!perStructural.has(structural)) perStructural.set(structural, []);
    perStructural.get(structural)!.push(score);
    if (!perSemantic.has(semantic)) perSemantic.set(semantic, []);
    perSemantic.get(semantic)!.push(score);
    (structural === "query" ? open : binary).push(score);
    const groups = expectObject(field(q, "groups", where), `${where}.groups`);
    const global = groups.global;
    if (global !== null && global !== undefined) {
      const g = typeof global === "string" ? global : JSON.stringify(global);
      bump(gold, g, goldAnswer);
      bump(predicted, g, pred);
    }
  }
  if (acc.length === 0) throw new FormatError(`${paths.answers}: no balanced question has a prediction`);

  // chiSquare(gold, predicted): per group sum((o-e)^2/e) over gold answers, weighted by the group's size.
  let sumScore = 0;
  let sumOverall = 0;
  for (const [g, hist] of gold) {
    let score = 0;
    let overall = 0;
    for (const [ans, e] of hist) {
      const o = predicted.get(g)?.get(ans) ?? 0;
      score += (o - e) ** 2 / e;
      overall += e;
    }
    sumScore += score * overall;
    sumOverall += overall;
  }
  const perType = (m: Map<string, number[]>) => Object.fromEntries([...m].map(([k, l]) => [k, avg100(l)]));
  return {
    benchmark: "gqa",
    accuracy: avg100(acc),
    binary: avg100(binary),
    open: avg100(open),
    distribution: sumOverall === 0 ? null : sumScore / sumOverall / 100,
    per_structural_type: perType(perStructural),
    per_semantic_type: perType(perSemantic),
    ...coverage,
  };
}

/** A folder laid out like the fixtures: testdev_balanced_questions.json and answers.jsonl. */
export function scoreGqaFolder(folder: string, opts: ScoreOptions = {}): GqaScore {
  return scoreGqa(
    { questions: join(folder, "testdev_balanced_questions.json"), answers: join(folder, "answers.jsonl") },
    opts,
  );
}
