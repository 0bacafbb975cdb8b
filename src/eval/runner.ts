/**
 * The evaluation runner: asks a model every question of a benchmark (or of one shard of it) and appends the
 * answers to a LLaVA-format answers file, resuming where a killed run stopped; then writes the official tools'
 * files, scores the answers when the data folder has the ground truth, and writes a summary and a short report.
 *
 * Library use, in three lines:
 *   const answerer = await OpenAiAnswerer.create({ endpoint: "http://localhost:8080" });
 *   const summary = await runEval({ benchmark: "pope", data: "playground/data/eval/pope", out: "pope.jsonl", answerer });
 *   console.log(summary.score);
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { writeAtomic, writeJsonAtomic } from "../util/atomic-file.js";
import { ImpError, UsageError } from "../util/errors.js";
import type { Answerer } from "./answerer.js";
import { isInOrder, matchAnswers, OrderedAppender, readAnswerLines, writeInOrder } from "./answers-file.js";
import { BENCHMARKS, type BenchmarkName } from "./benchmarks.js";
import { showKey } from "./files.js";
import { ProgressBar, type ProgressSink } from "./progress.js";
import { pyJsonDumps, pyStrip } from "./python-compat.js";
import { renderRunReport } from "./report.js";
import { scoreRun } from "./score-run.js";
import { type EvalTask, loadTasks, type TaskOptions } from "./tasks.js";

export interface Shard {
  /** 0-based, like LLaVA's --chunk-idx. */
  index: number;
  count: number;
}

/** Parses "i/n" (0 <= i < n). */
export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  if (!m) throw new UsageError(`--shard ${s}: expected i/n, e.g. 0/4 for the first of four shards`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count)
    throw new UsageError(`--shard ${s}: need 0 <= i < n (shards are numbered from 0)`);
  return { index, count };
}

/**
 * The shard's contiguous slice, cut as LLaVA's `get_chunk` does (chunks of ceil(len / n)), so shard files line
 * up with LLaVA's `{n}_{i}.jsonl` and concatenating them in order gives the question order. A shard past the
 * end is empty.
 */
export function shardSlice<T>(items: T[], shard: Shard): T[] {
  const size = Math.ceil(items.length / shard.count);
  return items.slice(shard.index * size, (shard.index + 1) * size);
}

const SHORTUUID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** A 22-character random id in the alphabet of Python's shortuuid, which LLaVA uses for answer_id. */
export function answerId(): string {
  const bytes = randomBytes(22);
  let s = "";
  for (const b of bytes) s += SHORTUUID_ALPHABET[b % SHORTUUID_ALPHABET.length];
  return s;
}

/** Answers file path without its extension: the prefix of the run's side files. */
export function runPrefix(out: string): string {
  return out.replace(/\.jsonl?$/i, "");
}

export interface RunOptions extends TaskOptions {
  benchmark: BenchmarkName;
  /** The benchmark's LLaVA data folder. */
  data: string;
  /** The answers file (appended to; resumed from). */
  out: string;
  answerer: Answerer;
  /** Where the answers come from, for the summary (an endpoint URL or a model folder). */
  source?: string;
  shard?: Shard;
  /** Ask at most the first N questions (of the shard). */
  limit?: number;
  /** Questions in flight at once (default 1). */
  concurrency?: number;
  /** Where the progress bar goes; false for none. */
  progress?: ProgressSink | false;
  signal?: AbortSignal;
  /** Score and write the report after answering (default true). */
  score?: boolean;
  allowMissing?: boolean;
  variant?: string;
}

export interface RunSummary {
  benchmark: BenchmarkName;
  model: string;
  source: string | null;
  data: string;
  answers: string;
  shard: string | null;
  /** Questions in the benchmark. */
  questions: number;
  /** Questions this run covers (the shard, up to --limit). */
  in_run: number;
  answered_before: number;
  answered_now: number;
  /** Questions of this run still without an answer. */
  missing: number;
  seconds: number;
  /** The score covers only part of the benchmark (a shard, a limit, or missing answers allowed). */
  partial: boolean;
  score: Record<string, unknown> | null;
  score_note: string | null;
  headline: { label: string; value: number | null } | null;
  files: string[];
  finished_at: string;
}

async function imageOf(task: EvalTask): Promise<{ imagePath?: string; imageBytes?: Uint8Array }> {
  const img = task.image;
  if (!img) return {};
  if ("base64" in img) return { imageBytes: Buffer.from(img.base64, "base64") };
  try {
    return { imageBytes: await readFile(img.path), imagePath: img.path };
  } catch (err) {
    throw new ImpError(
      `${img.path}: cannot read the image of question ${String(task.questionId)} (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
}

/** Runs (or resumes) one benchmark; see the file comment. */
export async function runEval(opts: RunOptions): Promise<RunSummary> {
  const started = Date.now();
  const out = resolve(opts.out);
  const tasks = loadTasks(opts.benchmark, opts.data, opts);
  let slice = opts.shard ? shardSlice(tasks, opts.shard) : tasks;
  if (opts.limit !== undefined) slice = slice.slice(0, opts.limit);
  const keys = slice.map((t) => t.key);

  mkdirSync(dirname(out), { recursive: true });
  if (!existsSync(out)) writeAtomic(out, ""); // an empty shard still leaves its (empty) answers file
  const existing = readAnswerLines(out, true);
  const { answered, unmatched } = matchAnswers(keys, existing);
  if (unmatched.length > 0) {
    const first = JSON.parse(unmatched[0]!.key) as [string, string];
    throw new UsageError(
      `${out}: ${unmatched.length} answer lines match no question of this run (first: id ${showKey(first[0])}); ` +
        "is it another benchmark's or another shard's answers file? Use a separate --out per shard.",
    );
  }
  const before = answered.filter(Boolean).length;
  const todo = slice.map((_, i) => i).filter((i) => !answered[i]);

  let now = 0;
  if (todo.length > 0) {
    const bar =
      opts.progress === false
        ? null
        : new ProgressBar(
            todo.length,
            `${opts.benchmark}${opts.shard ? ` ${opts.shard.index}/${opts.shard.count}` : ""}`,
            opts.progress,
          );
    const appender = new OrderedAppender(out, todo);
    let next = 0;
    let failure: unknown = null;
    const worker = async () => {
      while (failure === null && next < todo.length) {
        if (opts.signal?.aborted) {
          failure = opts.signal.reason ?? new ImpError("aborted");
          break;
        }
        const slot = todo[next++]!;
        const task = slice[slot]!;
        try {
          const img = await imageOf(task);
          const text = await opts.answerer.answer({
            ...img,
            prompt: task.prompt,
            maxTokens: task.maxTokens,
            signal: opts.signal,
          });
          appender.put(slot, pyJsonDumps(task.line(pyStrip(text), answerId(), opts.answerer.modelId)));
          bar?.tick();
        } catch (err) {
          if (failure === null) failure = err;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, worker));
    } finally {
      now = appender.written;
      appender.close();
      bar?.finish();
    }
    if (failure !== null) {
      const msg = failure instanceof Error ? failure.message : String(failure);
      throw new ImpError(
        `${opts.benchmark}: stopped after ${before + now} of ${slice.length} answers: ${msg}. ` +
          `Run the same command again to resume (answers so far are in ${out}).`,
        { cause: failure },
      );
    }
  }

  // Keep the file in question order (POPE and MME pair answers by position).
  const lines = readAnswerLines(out);
  if (!isInOrder(keys, lines)) writeInOrder(out, keys, lines);

  return finishRun({
    benchmark: opts.benchmark,
    data: opts.data,
    out,
    model: opts.answerer.modelId,
    source: opts.source,
    shard: opts.shard,
    questions: tasks.length,
    inRun: slice.length,
    before,
    now,
    started,
    score: opts.score,
    allowMissing: opts.allowMissing,
    variant: opts.variant,
    questionsFile: opts.questions,
    imageFolder: opts.imageFolder,
  });
}

export interface FinishOptions {
  benchmark: BenchmarkName;
  data: string;
  out: string;
  model: string;
  source?: string;
  shard?: Shard;
  /** Benchmark size, and how many questions this run (or merge) covers. */
  questions: number;
  inRun: number;
  before: number;
  now: number;
  started: number;
  score?: boolean;
  allowMissing?: boolean;
  variant?: string;
  /** Question file and image folder overrides (the scorers look for ground truth beside them). */
  questionsFile?: string;
  imageFolder?: string;
}

/** Scores an answers file, writes the official tools' files, the summary JSON and the markdown report. */
export function finishRun(o: FinishOptions): RunSummary {
  const missing = o.inRun - o.before - o.now;
  const prefix = runPrefix(o.out);
  const partial = o.inRun < o.questions || missing > 0;
  let score: Record<string, unknown> | null = null;
  let note: string | null = null;
  const files: string[] = [];
  if (o.shard && o.shard.count > 1) {
    note = "one shard of several: merge the shards (imp eval merge), which scores the whole benchmark";
  } else if (o.score !== false) {
    const r = scoreRun(o.benchmark, o.data, o.out, prefix, {
      allowMissing: o.allowMissing || partial,
      variant: o.variant,
      questions: o.questionsFile,
      imageFolder: o.imageFolder,
    });
    score = r.score;
    note = r.reason ?? (partial ? "partial: scored on the questions answered so far" : null);
    files.push(...r.files);
  }
  const summary: RunSummary = {
    benchmark: o.benchmark,
    model: o.model,
    source: o.source ?? null,
    data: resolve(o.data),
    answers: o.out,
    shard: o.shard ? `${o.shard.index}/${o.shard.count}` : null,
    questions: o.questions,
    in_run: o.inRun,
    answered_before: o.before,
    answered_now: o.now,
    missing,
    seconds: (Date.now() - o.started) / 1000,
    partial,
    score,
    score_note: note,
    headline: score ? BENCHMARKS[o.benchmark].headline(score) : null,
    files,
    finished_at: new Date().toISOString(),
  };
  const summaryFile = `${prefix}.summary.json`;
  const reportFile = `${prefix}.report.md`;
  summary.files.push(summaryFile, reportFile);
  writeJsonAtomic(summaryFile, summary);
  writeAtomic(reportFile, renderRunReport(summary));
  return summary;
}
