/**
 * VQAv2 scoring, identical to the official evaluator (GT-Vision-Lab/VQA `vqaEval.py` + `vqa.py`, HEAD a013f00,
 * Python 2.7), and to what LLaVA/Imp submit (answers first passed through EvalAI's processor, as
 * `scripts/convert_vqav2_for_submission.py` does).
 *
 * Per question: every human answer and the prediction get newlines/tabs turned into spaces and are stripped;
 * only when the 10 human answers are not all identical are both sides normalised (punctuation, then number
 * words, articles, contractions; see vqa-normalize.ts). Accuracy is the mean over the 10 leave-one-out subsets
 * of min(#matching answers / 3, 1). "Leave one out" drops every human answer whose whole record (answer,
 * confidence, id) equals the held-out one, so exact duplicate records drop together. Overall and per-type
 * numbers are 100 * sum / count, rounded to 2 decimals the Python 2 way (ties away from zero).
 *
 * Variant `pre2021` (a4f1afd, before "Fixed processing answers bug"): the prediction is always normalised, the
 * human answers only get the punctuation rule (and no strip) when they disagree.
 *
 * Results must name only annotated questions (the evaluator asserts it); a duplicate question id keeps its last
 * answer. With --allow-missing the evaluator's `evaluate(quesIds)` is run on the answered questions only.
 * An annotation file that lists a question twice is an error here (the evaluator would count it twice, the
 * second time with answers it had already normalised).
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
  showKey,
} from "./files.js";
import { pyRound } from "./python-compat.js";
import {
  evalAiProcess,
  flattenWhitespace,
  processDigitArticle,
  processPunctuation,
} from "./vqa-normalize.js";

export const VQAV2_VARIANTS = ["head", "pre2021"] as const;
export type Vqav2Variant = (typeof VQAV2_VARIANTS)[number];

export interface VqaAnnotation {
  key: string;
  questionType: string;
  answerType: string;
  /** The human answer records, whole (the leave-one-out compares whole records). */
  answers: JsonObject[];
}

export interface VqaEvaluation {
  overall: number;
  overall_unrounded: number;
  per_answer_type: Record<string, number>;
  per_question_type: Record<string, number>;
  /** Unrounded accuracy (0-1) per question key, in annotation order. */
  per_question: Map<string, number>;
}

/** Memo of the Python 2 normalisations: answers repeat across a dataset ("yes", "2"), the work does not need to. */
const memo = { full: new Map<string, string>(), punct: new Map<string, string>() };
function cached(m: Map<string, string>, s: string, f: (s: string) => string): string {
  let v = m.get(s);
  if (v === undefined) {
    v = f(s);
    if (m.size > 200_000) m.clear();
    m.set(s, v);
  }
  return v;
}
const normFull = (s: string) =>
  cached(memo.full, s, (x) => processDigitArticle(processPunctuation(x, "py2"), "py2"));
const normPunct = (s: string) => cached(memo.punct, s, (x) => processPunctuation(x, "py2"));

/** A string equal for two JSON values exactly when Python's `==` says they are equal. */
function pyCanon(v: unknown): string {
  if (typeof v === "boolean") return `n${v ? 1 : 0}`;
  if (typeof v === "number") return `n${v === 0 ? 0 : v}`;
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "u";
  if (Array.isArray(v)) return `[${v.map(pyCanon).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${pyCanon(o[k])}`)
    .join(",")}}`;
}

/** Each human answer record without its answer, canonical (cached per annotation). */
const restCanon = new WeakMap<JsonObject[], string[]>();
function recordsWithoutAnswer(answers: JsonObject[]): string[] {
  let r = restCanon.get(answers);
  if (!r) {
    r = answers.map(({ answer: _, ...rest }) => pyCanon(rest));
    restCanon.set(answers, r);
  }
  return r;
}

/** Accuracy (0-1) of one prediction against one annotation, by the chosen evaluator version. */
export function vqaAccuracy(ann: VqaAnnotation, prediction: string, variant: Vqav2Variant = "head"): number {
  const raw = ann.answers.map((a) => a.answer as string);
  let gts: string[];
  let res: string;
  if (variant === "head") {
    gts = raw.map((a) => flattenWhitespace(a, "py2"));
    res = flattenWhitespace(prediction, "py2");
    if (new Set(gts).size > 1) {
      gts = gts.map(normFull);
      res = normFull(res);
    }
  } else {
    res = normFull(flattenWhitespace(prediction, "py2"));
    gts = new Set(raw).size > 1 ? raw.map(normPunct) : raw;
  }
  // Holding out record i drops every record equal to it (same answer and same other fields), so the matches
  // left are all matches minus i's duplicates when i itself matches.
  const rest = recordsWithoutAnswer(ann.answers);
  const ids = gts.map((g, i) => `${rest[i]}\u0000${g}`);
  let all = 0;
  for (const g of gts) if (g === res) all++;
  let sum = 0;
  for (let i = 0; i < gts.length; i++) {
    let matches = all;
    if (gts[i] === res) for (let j = 0; j < gts.length; j++) if (ids[j] === ids[i]) matches--;
    sum += Math.min(1, matches / 3);
  }
  return sum / gts.length;
}

/** Runs the evaluator over `keys` (annotation order), as `VQAEval(n=2).evaluate(quesIds)` does. */
export function evaluateVqa(
  anns: VqaAnnotation[],
  predictions: Map<string, string>,
  variant: Vqav2Variant = "head",
): VqaEvaluation {
  const accQA: number[] = [];
  const byQType = new Map<string, number[]>();
  const byAType = new Map<string, number[]>();
  const perQuestion = new Map<string, number>();
  for (const ann of anns) {
    const pred = predictions.get(ann.key);
    if (pred === undefined) continue;
    const acc = vqaAccuracy(ann, pred, variant);
    accQA.push(acc);
    if (!byQType.has(ann.questionType)) byQType.set(ann.questionType, []);
    byQType.get(ann.questionType)!.push(acc);
    if (!byAType.has(ann.answerType)) byAType.set(ann.answerType, []);
    byAType.get(ann.answerType)!.push(acc);
    perQuestion.set(ann.key, acc);
  }
  // 100*float(sum(l))/len(l): the sum left to right, times 100, then divided (the order decides the last bit).
  const pct = (l: number[]): number => {
    let s = 0;
    for (const v of l) s += v;
    return (100 * s) / l.length;
  };
  const rounded = (m: Map<string, number[]>): Record<string, number> =>
    Object.fromEntries([...m].map(([k, l]) => [k, pyRound(pct(l), 2, "away")]));
  const unrounded = accQA.length ? pct(accQA) : Number.NaN;
  return {
    overall: pyRound(unrounded, 2, "away"),
    overall_unrounded: unrounded,
    per_answer_type: rounded(byAType),
    per_question_type: rounded(byQType),
    per_question: perQuestion,
  };
}

/** Reads `annotations.json` (VQA v2 schema). */
export function readVqaAnnotations(path: string): VqaAnnotation[] {
  const root = expectObject(readJson(path, "VQA annotations file"), path);
  const list = expectArray(field(root, "annotations", path), at(path, undefined, "annotations"));
  const seen = new Set<string>();
  return list.map((a, i) => {
    const where = at(path, undefined, `annotations[${i}]`);
    const o = expectObject(a, where);
    const answers = expectArray(field(o, "answers", where), `${where}.answers`).map((x, j) => {
      const r = expectObject(x, `${where}.answers[${j}]`);
      expectString(field(r, "answer", `${where}.answers[${j}]`), `${where}.answers[${j}].answer`);
      return r;
    });
    if (answers.length === 0)
      throw new FormatError(`${where}: no human answers (the evaluator divides by their count)`);
    const key = idKey(field(o, "question_id", where), `${where}.question_id`);
    if (seen.has(key)) throw new FormatError(`${where}: question_id ${showKey(key)} is annotated twice`);
    seen.add(key);
    return {
      key,
      questionType: expectString(field(o, "question_type", where), `${where}.question_type`),
      answerType: expectString(field(o, "answer_type", where), `${where}.answer_type`),
      answers,
    };
  });
}

/** Reads `questions.json` only for what the evaluator checks: multiple-choice answers must be a listed choice. */
function readMultipleChoices(path: string): Map<string, string[]> | null {
  const root = expectObject(readJson(path, "VQA questions file"), path);
  const list = expectArray(field(root, "questions", path), at(path, undefined, "questions"));
  if (root.task_type !== "Multiple Choice") return null;
  const out = new Map<string, string[]>();
  list.forEach((q, i) => {
    const where = at(path, undefined, `questions[${i}]`);
    const o = expectObject(q, where);
    const mc = expectArray(field(o, "multiple_choices", where), `${where}.multiple_choices`);
    out.set(
      idKey(field(o, "question_id", where), `${where}.question_id`),
      mc.map((c) => String(c)),
    );
  });
  return out;
}

/** Reads `results.json`: `[{"question_id", "answer"}]`; the last answer of a repeated id wins. */
export function readVqaResults(path: string): Map<string, string> {
  const list = expectArray(readJson(path, "VQA results file"), `${path}: results is not an array of objects`);
  const out = new Map<string, string>();
  list.forEach((r, i) => {
    const where = at(path, undefined, `[${i}]`);
    const o = expectObject(r, where);
    out.set(
      idKey(field(o, "question_id", where), `${where}.question_id`),
      expectString(field(o, "answer", where), `${where}.answer`),
    );
  });
  return out;
}

export interface Vqav2Score extends Coverage {
  benchmark: "vqav2";
  variant: Vqav2Variant;
  /** Official evaluator on the raw results, 0-100 rounded to 2 decimals. */
  overall: number;
  overall_unrounded: number;
  per_answer_type: Record<string, number>;
  per_question_type: Record<string, number>;
  /** The same after LLaVA's EvalAI answer processing, i.e. what a LLaVA/Imp submission scores. */
  overall_after_llava_processing: number;
  overall_after_llava_processing_unrounded: number;
  per_answer_type_after_llava_processing: Record<string, number>;
}

export interface Vqav2Paths {
  questions: string;
  annotations: string;
  results: string;
}

export function scoreVqav2(paths: Vqav2Paths, opts: ScoreOptions = {}): Vqav2Score {
  const variant = (opts.variant ?? "head") as Vqav2Variant;
  if (!VQAV2_VARIANTS.includes(variant)) {
    throw new FormatError(`vqav2: unknown variant "${opts.variant}" (known: ${VQAV2_VARIANTS.join(", ")})`);
  }
  const anns = readVqaAnnotations(paths.annotations);
  const choices = readMultipleChoices(paths.questions);
  const results = readVqaResults(paths.results);
  const annKeys = new Set(anns.map((a) => a.key));
  const extra = [...results.keys()].filter((k) => !annKeys.has(k));
  if (extra.length > 0) {
    throw new FormatError(
      `${paths.results}: ${extra.length} results name questions that are not in ${paths.annotations} ` +
        `(first: ${showKey(extra[0]!)}); the official evaluator rejects such a file`,
    );
  }
  if (choices) {
    for (const [k, a] of results) {
      if (!(choices.get(k) ?? []).includes(a)) {
        throw new FormatError(
          `${paths.results}: answer ${JSON.stringify(a)} to ${showKey(k)} is not one of its choices`,
        );
      }
    }
  }
  const missing = anns.filter((a) => !results.has(a.key)).map((a) => a.key);
  const coverage = checkCoverage(
    paths.results,
    anns.length,
    missing,
    opts,
    "scores the answered questions only",
  );
  const raw = evaluateVqa(anns, results, variant);
  const processed = evaluateVqa(anns, new Map([...results].map(([k, v]) => [k, evalAiProcess(v)])), variant);
  return {
    benchmark: "vqav2",
    variant,
    overall: raw.overall,
    overall_unrounded: raw.overall_unrounded,
    per_answer_type: raw.per_answer_type,
    per_question_type: raw.per_question_type,
    overall_after_llava_processing: processed.overall,
    overall_after_llava_processing_unrounded: processed.overall_unrounded,
    per_answer_type_after_llava_processing: processed.per_answer_type,
    ...coverage,
  };
}

/** A folder laid out like the fixtures: questions.json, annotations.json, results.json. */
export function scoreVqav2Folder(folder: string, opts: ScoreOptions = {}): Vqav2Score {
  return scoreVqav2(
    {
      questions: join(folder, "questions.json"),
      annotations: join(folder, "annotations.json"),
      results: join(folder, "results.json"),
    },
    opts,
  );
}
