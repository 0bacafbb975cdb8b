/**
 * POPE scoring, identical to LLaVA `llava/eval/eval_pope.py`.
 *
 * - Each `coco_pope_<category>.json` in the annotation folder (JSON lines with `label`) is one split; the
 *   folder must hold nothing else. An answer belongs to the split named by its question's `category` in the
 *   question file (`llava_pope_test.jsonl`).
 * - Yes/no rule: keep the text before the first "." (if any), delete commas, split on single spaces; the answer
 *   is "no" if a word is exactly "No", "no" or "not", otherwise "yes" (so "NO" and "Nope" count as yes).
 * - Answers are paired with labels by position: the k-th answer of a split (in answers-file order) with the k-th
 *   line of its label file, up to the shorter of the two (Python's `zip`); `label == "no"` is negative, any other
 *   label positive. The yes ratio is over all answers of the split.
 * - Accuracy, precision, recall, F1 and yes ratio are fractions; a ratio with a zero denominator (where the
 *   script raises) is null.
 *
 * Coverage: a split whose answer count differs from its label count is reported as missing; --allow-missing
 * then scores what the pairing gives, as the script silently does.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { FormatError } from "../util/errors.js";
import { type Coverage, checkCoverage, type ScoreOptions } from "./coverage.js";
import { at, expectObject, expectString, field, idKey, readJsonl } from "./files.js";
import { pyDiv } from "./python-compat.js";

/** eval_pope.py's reading of an answer: true for "yes". */
export function popeSaysYes(text: string): boolean {
  let t = text;
  if (t.includes(".")) t = t.split(".")[0]!;
  const words = t.replaceAll(",", "").split(" ");
  return !(words.includes("No") || words.includes("not") || words.includes("no"));
}

export interface PopeSplitScore {
  TP: number;
  FP: number;
  TN: number;
  FN: number;
  samples: number;
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  yes_ratio: number | null;
}

/** Metrics of one split from its predictions (true = yes) and labels, paired by position. */
export function popeMetrics(preds: boolean[], labels: string[]): PopeSplitScore {
  let TP = 0;
  let FP = 0;
  let TN = 0;
  let FN = 0;
  const n = Math.min(preds.length, labels.length);
  for (let i = 0; i < n; i++) {
    const pos = labels[i] !== "no";
    if (preds[i] && pos) TP++;
    else if (preds[i] && !pos) FP++;
    else if (!preds[i] && !pos) TN++;
    else FN++;
  }
  const precision = pyDiv(TP, TP + FP);
  const recall = pyDiv(TP, TP + FN);
  const f1 = precision === null || recall === null ? null : pyDiv(2 * precision * recall, precision + recall);
  return {
    TP,
    FP,
    TN,
    FN,
    samples: preds.length,
    accuracy: pyDiv(TP + TN, TP + TN + FP + FN),
    precision,
    recall,
    f1,
    yes_ratio: pyDiv(preds.filter((p) => p).length, preds.length),
  };
}

export interface PopeScore extends Coverage {
  benchmark: "pope";
  f1: Record<string, number | null>;
  accuracy: Record<string, number | null>;
  precision: Record<string, number | null>;
  recall: Record<string, number | null>;
  yes_ratio: Record<string, number | null>;
  /** Mean F1 and accuracy over the splits (the usual headline; not printed by the script). */
  mean_f1: number | null;
  mean_accuracy: number | null;
  splits: Record<string, PopeSplitScore>;
}

export interface PopePaths {
  /** Folder of coco_pope_<category>.json label files. */
  annotationDir: string;
  /** llava_pope_test.jsonl: question_id -> category. */
  questions: string;
  answers: string;
}

export function scorePope(paths: PopePaths, opts: ScoreOptions = {}): PopeScore {
  const categoryOf = new Map<string, string>();
  for (const rec of readJsonl(paths.questions, "POPE question file")) {
    const where = at(paths.questions, rec.line);
    const o = expectObject(rec.value, where);
    categoryOf.set(
      idKey(field(o, "question_id", where), `${where}.question_id`),
      expectString(field(o, "category", where), `${where}.category`),
    );
  }
  const answers: { category: string; yes: boolean }[] = [];
  for (const rec of readJsonl(paths.answers, "POPE answers file")) {
    const where = at(paths.answers, rec.line);
    const o = expectObject(rec.value, where);
    const key = idKey(field(o, "question_id", where), `${where}.question_id`);
    const category = categoryOf.get(key);
    if (category === undefined) throw new FormatError(`${where}: question_id is not in ${paths.questions}`);
    answers.push({ category, yes: popeSaysYes(expectString(field(o, "text", where), `${where}.text`)) });
  }
  if (!existsSync(paths.annotationDir)) {
    throw new FormatError(
      `${paths.annotationDir}: POPE annotation folder (coco_pope_<category>.json files) not found`,
    );
  }
  const files = readdirSync(paths.annotationDir).sort();
  const splits: Record<string, PopeSplitScore> = {};
  const missing: string[] = [];
  let total = 0;
  for (const file of files) {
    if (!file.startsWith("coco_pope_") || !file.endsWith(".json")) {
      throw new FormatError(
        `${join(paths.annotationDir, file)}: the POPE annotation folder may only hold coco_pope_<category>.json files`,
      );
    }
    const category = file.slice(10, -5);
    const labelFile = join(paths.annotationDir, file);
    const labels = readJsonl(labelFile, "POPE label file").map((r) =>
      expectString(
        field(expectObject(r.value, at(labelFile, r.line)), "label", at(labelFile, r.line)),
        at(labelFile, r.line, "label"),
      ),
    );
    const preds = answers.filter((a) => a.category === category).map((a) => a.yes);
    total += labels.length;
    for (let i = preds.length; i < labels.length; i++) missing.push(`${category} label #${i + 1}`);
    if (preds.length > labels.length && !opts.allowMissing) {
      throw new FormatError(
        `${paths.answers}: ${preds.length} answers for split "${category}" but ${labelFile} has ${labels.length} labels; ` +
          "answers are paired with labels by position, so the extra ones would be ignored (pass --allow-missing to accept)",
      );
    }
    splits[category] = popeMetrics(preds, labels);
  }
  const coverage = checkCoverage(
    paths.answers,
    total,
    missing,
    opts,
    "pairs the answers there are with the first labels, as eval_pope.py does",
  );
  const pick = (k: keyof PopeSplitScore) =>
    Object.fromEntries(Object.entries(splits).map(([c, s]) => [c, s[k] as number | null]));
  const mean = (k: "f1" | "accuracy") => {
    const v = Object.values(splits).map((s) => s[k]);
    if (v.length === 0 || v.some((x) => x === null)) return null;
    return (v as number[]).reduce((a, b) => a + b, 0) / v.length;
  };
  return {
    benchmark: "pope",
    f1: pick("f1"),
    accuracy: pick("accuracy"),
    precision: pick("precision"),
    recall: pick("recall"),
    yes_ratio: pick("yes_ratio"),
    mean_f1: mean("f1"),
    mean_accuracy: mean("accuracy"),
    splits,
    ...coverage,
  };
}

/** A folder laid out like the fixtures: coco/, llava_pope_test.jsonl, answers.jsonl. */
export function scorePopeFolder(folder: string, opts: ScoreOptions = {}): PopeScore {
  return scorePope(
    {
      annotationDir: join(folder, "coco"),
      questions: join(folder, "llava_pope_test.jsonl"),
      answers: join(folder, "answers.jsonl"),
    },
    opts,
  );
}
