/**
 * The benchmark table: each benchmark's name, what its score folder holds, its official-script variants and its
 * folder scorer. `imp eval score` and the runner look benchmarks up here; adding one is a row, not a branch.
 */
import { UsageError } from "../util/errors.js";
import type { ScoreOptions } from "./coverage.js";
import { scoreGqaFolder } from "./gqa.js";
import { scoreMmbenchFolder } from "./mmbench.js";
import { scoreMme } from "./mme.js";
import { scorePopeFolder } from "./pope.js";
import { scoreScienceQaFolder } from "./scienceqa.js";
import { scoreTextVqaFolder } from "./textvqa.js";
import { scoreVqav2Folder } from "./vqav2.js";

export const BENCHMARK_NAMES = ["vqav2", "textvqa", "gqa", "scienceqa", "pope", "mme", "mmbench"] as const;
export type BenchmarkName = (typeof BENCHMARK_NAMES)[number];

export interface BenchmarkInfo {
  name: BenchmarkName;
  title: string;
  /** What `imp eval score NAME FOLDER` expects in FOLDER. */
  folder: string;
  /** Official-script versions: the first is the primary (the default). */
  variants: readonly { name: string; script: string }[];
  scoreFolder(folder: string, opts: ScoreOptions): object;
  /** The number a summary table shows, and its unit. */
  headline(score: Record<string, unknown>): { label: string; value: number | null };
}

const num = (v: unknown): number | null => (typeof v === "number" ? v : null);

export const BENCHMARKS: Readonly<Record<BenchmarkName, BenchmarkInfo>> = {
  vqav2: {
    name: "vqav2",
    title: "VQAv2",
    folder: "questions.json, annotations.json (VQA v2 schema), results.json ([{question_id, answer}])",
    variants: [
      { name: "head", script: "GT-Vision-Lab/VQA vqaEval.py HEAD (a013f00)" },
      {
        name: "pre2021",
        script: "GT-Vision-Lab/VQA vqaEval.py before a013f00 'Fixed processing answers bug'",
      },
    ],
    scoreFolder: scoreVqav2Folder,
    headline: (s) => ({
      label: "accuracy (after LLaVA processing)",
      value: num(s.overall_after_llava_processing),
    }),
  },
  textvqa: {
    name: "textvqa",
    title: "TextVQA",
    folder: "TextVQA_0.5.1_val.json, answers.jsonl (LLaVA model_vqa_loader output)",
    variants: [{ name: "llava", script: "LLaVA llava/eval/eval_textvqa.py + m4c_evaluator.py" }],
    scoreFolder: scoreTextVqaFolder,
    headline: (s) => ({ label: "accuracy %", value: num(s.accuracy) }),
  },
  gqa: {
    name: "gqa",
    title: "GQA",
    folder: "testdev_balanced_questions.json, answers.jsonl",
    variants: [{ name: "official", script: "LLaVA convert_gqa_for_eval.py + GQA eval.py (LLaVA patch)" }],
    scoreFolder: scoreGqaFolder,
    headline: (s) => ({ label: "accuracy %", value: num(s.accuracy) }),
  },
  scienceqa: {
    name: "scienceqa",
    title: "ScienceQA-IMG",
    folder: "problems.json, pid_splits.json, answers.jsonl",
    variants: [
      { name: "llava", script: "LLaVA llava/eval/eval_science_qa.py (IMG = prompt contains <image>)" },
      { name: "imp", script: "MILVLG/imp imp_llava/eval/eval_science_qa.py (IMG = has a prediction)" },
    ],
    scoreFolder: scoreScienceQaFolder,
    headline: (s) => ({ label: "IMG accuracy %", value: num(s.img_accuracy) }),
  },
  pope: {
    name: "pope",
    title: "POPE",
    folder: "coco/coco_pope_{adversarial,popular,random}.json, llava_pope_test.jsonl, answers.jsonl",
    variants: [{ name: "llava", script: "LLaVA llava/eval/eval_pope.py" }],
    scoreFolder: scorePopeFolder,
    headline: (s) => ({
      label: "mean F1 %",
      value: num(s.mean_f1) === null ? null : 100 * (s.mean_f1 as number),
    }),
  },
  mme: {
    name: "mme",
    title: "MME",
    folder: "one <subtask>.txt per subtask (image, question, Yes/No, prediction), as eval_tool/answers/<run>",
    variants: [{ name: "official", script: "MME eval_tool/calculation.py" }],
    scoreFolder: scoreMme,
    headline: (s) => ({ label: "perception", value: num(s.perception) }),
  },
  mmbench: {
    name: "mmbench",
    title: "MMBench",
    folder: "mmbench_dev.tsv (MMBench columns, circular passes as index + k*1000000), answers.jsonl",
    variants: [
      {
        name: "opencompass",
        script: "LLaVA convert_mmbench_for_submission.py + OpenCompass tools/eval_mmbench.py",
      },
      { name: "vlmevalkit", script: "VLMEvalKit can_infer + mcq_circular_eval, exact matching" },
    ],
    scoreFolder: scoreMmbenchFolder,
    headline: (s) => ({
      label: "circular accuracy %",
      value: num(s.circular_accuracy) === null ? null : 100 * (s.circular_accuracy as number),
    }),
  },
};

export function benchmark(name: string): BenchmarkInfo {
  const b = (BENCHMARKS as Record<string, BenchmarkInfo>)[name.toLowerCase()];
  if (!b) throw new UsageError(`unknown benchmark "${name}"; known: ${BENCHMARK_NAMES.join(", ")}`);
  return b;
}

/** Scores a folder laid out like `../shared/fixtures/eval/BENCHMARK/`. */
export function scoreFolder(name: string, folder: string, opts: ScoreOptions = {}): object {
  const b = benchmark(name);
  if (opts.variant !== undefined && !b.variants.some((v) => v.name === opts.variant)) {
    throw new UsageError(
      `${b.name} has no variant "${opts.variant}"; known: ${b.variants.map((v) => v.name).join(", ")}`,
    );
  }
  return b.scoreFolder(folder, opts);
}
