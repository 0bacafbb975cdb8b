/**
 * Merging the answers files of a sharded run into one, in question order (what LLaVA's scripts do with `cat`
 * of `{n}_{i}.jsonl`, but independent of the order shards are listed and of repeated lines), then scoring it
 * like a single run.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError } from "../util/errors.js";
import { type AnswerLine, matchAnswers, readAnswerLines, writeInOrder } from "./answers-file.js";
import type { BenchmarkName } from "./benchmarks.js";
import { finishRun, type RunSummary } from "./runner.js";
import { loadTasks, type TaskOptions } from "./tasks.js";

export interface MergeOptions extends TaskOptions {
  benchmark: BenchmarkName;
  data: string;
  out: string;
  shards: string[];
  score?: boolean;
  allowMissing?: boolean;
  variant?: string;
}

export interface MergeResult {
  summary: RunSummary;
  /** Lines dropped: repeats of an answered question, or lines that match no question. */
  dropped: number;
}

export function mergeShards(opts: MergeOptions): MergeResult {
  const started = Date.now();
  const out = resolve(opts.out);
  if (opts.shards.length === 0) throw new UsageError("merge: name the shard answer files to merge");
  const lines: AnswerLine[] = [];
  for (const f of opts.shards) {
    if (!existsSync(f)) throw new UsageError(`${f}: shard answers file not found`);
    if (resolve(f) === out) throw new UsageError(`${f}: the merged file must not be one of the shards`);
    lines.push(...readAnswerLines(f));
  }
  const tasks = loadTasks(opts.benchmark, opts.data, opts);
  const keys = tasks.map((t) => t.key);
  const { answered } = matchAnswers(keys, lines);
  const { written, dropped } = writeInOrder(out, keys, lines);
  const summary = finishRun({
    benchmark: opts.benchmark,
    data: opts.data,
    out,
    model: modelOf(lines),
    questions: tasks.length,
    inRun: tasks.length,
    before: answered.filter(Boolean).length,
    now: 0,
    started,
    score: opts.score,
    allowMissing: opts.allowMissing,
    variant: opts.variant,
    questionsFile: opts.questions,
    imageFolder: opts.imageFolder,
  });
  if (written !== summary.in_run - summary.missing) throw new Error("merge: line count mismatch (a bug)");
  return { summary, dropped };
}

/** The `model_id` of the answer lines (the first one found). */
function modelOf(lines: AnswerLine[]): string {
  for (const l of lines) {
    const m = (JSON.parse(l.raw) as { model_id?: unknown }).model_id;
    if (typeof m === "string") return m;
  }
  return "unknown";
}
