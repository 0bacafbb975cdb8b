/**
 * Scoring a runner's answers file against the ground truth in the benchmark's LLaVA data folder, writing the
 * official tools' input files on the way (VQAv2 upload, MME eval_tool folder, GQA predictions). Benchmarks whose
 * ground truth is not public (VQAv2 test-dev) get their upload file and no score.
 */
import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { writeJsonAtomic } from "../util/atomic-file.js";
import type { BenchmarkName } from "./benchmarks.js";
import { writeGqaPredictions, writeMmeResults, writeVqav2Submission } from "./convert.js";
import type { ScoreOptions } from "./coverage.js";
import { at, expectObject, expectString, field, readJsonl } from "./files.js";
import { scoreGqa } from "./gqa.js";
import { scoreMmbench } from "./mmbench.js";
import { scoreMme } from "./mme.js";
import { scorePope } from "./pope.js";
import { scoreScienceQa } from "./scienceqa.js";
import { DATA_LAYOUT } from "./tasks.js";
import { scoreTextVqa } from "./textvqa.js";
import { scoreVqav2 } from "./vqav2.js";

export interface RunScore {
  /** The scorer's JSON object, or null when the data folder has no ground truth. */
  score: Record<string, unknown> | null;
  /** Why there is no score. */
  reason?: string;
  /** Files written for the official tools. */
  files: string[];
}

export interface ScoreRunOptions extends ScoreOptions {
  questions?: string;
  imageFolder?: string;
}

/** The first of `names` that exists in `dir`, or null. */
function findIn(dir: string, ...names: string[]): string | null {
  for (const n of names) {
    const p = isAbsolute(n) ? n : join(dir, n);
    if (existsSync(p)) return p;
  }
  return null;
}

/**
 * Scores `answers` (LLaVA answers.jsonl) for `bench` with the ground truth found in `data`. `prefix` names the
 * side files (prefix + ".submission.json", ".mme/", ".gqa_predictions.json").
 */
export function scoreRun(
  bench: BenchmarkName,
  data: string,
  answers: string,
  prefix: string,
  opts: ScoreRunOptions = {},
): RunScore {
  const questions = findIn(data, opts.questions ?? DATA_LAYOUT[bench].questions);
  const none = (reason: string, files: string[] = []): RunScore => ({ score: null, reason, files });
  switch (bench) {
    case "vqav2": {
      const files: string[] = [];
      const split = findIn(data, "llava_vqav2_mscoco_test2015.jsonl") ?? questions;
      if (split) {
        const out = `${prefix}.submission.json`;
        writeVqav2Submission(answers, split, out);
        files.push(out);
      }
      const ann = findIn(data, "annotations.json");
      const qs = findIn(data, "questions.json");
      if (!ann || !qs) {
        return none(
          "VQAv2 test-dev answers are scored by the EvalAI server: upload the submission file",
          files,
        );
      }
      // The evaluator's results file: the raw answers (the score after LLaVA processing is computed as well).
      const results = readJsonl(answers, "answers file").map((rec) => {
        const where = at(answers, rec.line);
        const o = expectObject(rec.value, where);
        return {
          question_id: field(o, "question_id", where),
          answer: expectString(field(o, "text", where), where),
        };
      });
      const resultsFile = `${prefix}.results.json`;
      writeJsonAtomic(resultsFile, results);
      files.push(resultsFile);
      return {
        score: { ...scoreVqav2({ questions: qs, annotations: ann, results: resultsFile }, opts) },
        files,
      };
    }
    case "textvqa": {
      const ann = findIn(data, "TextVQA_0.5.1_val.json");
      if (!ann) return none(`no TextVQA_0.5.1_val.json in ${data}`);
      return { score: { ...scoreTextVqa({ annotations: ann, answers }, opts) }, files: [] };
    }
    case "gqa": {
      const out = `${prefix}.gqa_predictions.json`;
      writeGqaPredictions(answers, out);
      const qs = findIn(data, "testdev_balanced_questions.json", "data/testdev_balanced_questions.json");
      if (!qs) return none(`no testdev_balanced_questions.json in ${data} or ${data}/data`, [out]);
      return { score: { ...scoreGqa({ questions: qs, answers }, opts) }, files: [out] };
    }
    case "scienceqa": {
      const problems = findIn(data, "problems.json");
      const pidSplits = findIn(data, "pid_splits.json");
      if (!problems || !pidSplits) return none(`no problems.json and pid_splits.json in ${data}`);
      return { score: { ...scoreScienceQa({ problems, pidSplits, answers }, opts) }, files: [] };
    }
    case "pope": {
      const coco = findIn(data, "coco");
      if (!coco || !questions) return none(`no coco/ annotation folder in ${data}`);
      return { score: { ...scorePope({ annotationDir: coco, questions, answers }, opts) }, files: [] };
    }
    case "mme": {
      const gtRoot = findIn(data, ...(opts.imageFolder ? [opts.imageFolder] : []), DATA_LAYOUT.mme.images!);
      if (!gtRoot) return none(`no MME_Benchmark_release_version in ${data}`);
      const outDir = `${prefix}.mme`;
      writeMmeResults(answers, gtRoot, outDir);
      return { score: { ...scoreMme(outDir, opts) }, files: [outDir] };
    }
    case "mmbench": {
      if (!questions) return none(`no question TSV in ${data}`);
      try {
        return { score: { ...scoreMmbench({ tsv: questions, answers }, opts) }, files: [] };
      } catch (err) {
        if (err instanceof Error && /missing column "answer"/.test(err.message)) {
          return none("this MMBench TSV has no answers (test split): submit to the MMBench server");
        }
        throw err;
      }
    }
  }
}
