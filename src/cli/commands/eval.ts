/**
 * `imp eval`: score benchmark answers exactly as the official scripts do (`score`), ask a model a benchmark's
 * questions (`run`), merge sharded runs (`merge`) and compare runs (`report`). The work is in src/eval.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { UsageError } from "../../util/errors.js";
import type { ModelCliOptions } from "../common.js";
import { addImageTokensOption, addModelOptions, resolveModelOption } from "../common.js";

const BENCH_HELP = "vqav2, textvqa, gqa, scienceqa, pope, mme or mmbench";

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

function print(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
}

async function benchName(name: string) {
  const { benchmark } = await import("../../eval/benchmarks.js");
  return benchmark(name).name;
}

export function register(program: Command): void {
  const evalCmd = program
    .command("eval")
    .description("score benchmark answers as the official scripts do, and run models on benchmarks")
    .addHelpText(
      "after",
      `
Benchmarks: ${BENCH_HELP}.
Typical use:
  imp eval score pope ./pope                     score answers laid out like the fixtures
  imp eval run pope --data playground/data/eval/pope --endpoint http://localhost:8080 --out runs/pope.jsonl
  imp eval report runs/*.summary.json --out runs/report.md`,
    );

  evalCmd
    .command("score")
    .description("score a folder of answers + ground truth and print the metrics as one JSON object")
    .argument("<benchmark>", BENCH_HELP)
    .argument("<folder>", "folder laid out like shared/fixtures/eval/<benchmark>/ (see --help)")
    .option("--allow-missing", "score what exists when predictions do not cover every question")
    .option(
      "--variant <name>",
      "official-script version where two disagree: vqav2 head|pre2021, scienceqa llava|imp, mmbench opencompass|vlmevalkit (the first is the default)",
    )
    .option("--split <name>", "scienceqa: the pid_splits.json split to score", "test")
    .addHelpText(
      "after",
      `
Folder contents:
  vqav2      questions.json, annotations.json (VQA v2), results.json [{question_id, answer}] with raw answers
  textvqa    TextVQA_0.5.1_val.json, answers.jsonl (LLaVA format)
  gqa        testdev_balanced_questions.json, answers.jsonl
  scienceqa  problems.json, pid_splits.json, answers.jsonl
  pope       coco/coco_pope_<split>.json, llava_pope_test.jsonl, answers.jsonl
  mme        <subtask>.txt for the 14 subtasks (image, question, Yes/No, prediction)
  mmbench    mmbench_dev.tsv, answers.jsonl
Units are those the official scripts print: vqav2/textvqa/gqa/scienceqa in percent, pope and mmbench as
fractions, mme as scores. MMBench answers only an LLM judge could read count as wrong; the output says how many.`,
    )
    .action(
      async (
        bench: string,
        folder: string,
        o: { allowMissing?: boolean; variant?: string; split: string },
      ) => {
        const { scoreFolder } = await import("../../eval/benchmarks.js");
        if (!existsSync(folder)) throw new UsageError(`${folder}: folder not found`);
        print(
          scoreFolder(bench, folder, { allowMissing: o.allowMissing, variant: o.variant, split: o.split }),
        );
      },
    );

  addImageTokensOption(addModelOptions(evalCmd.command("run")))
    .description(
      "ask a model (--model DIR, the built-in model by default, or --endpoint URL) every question of a " +
        "benchmark, append LLaVA-format answers, then score and report",
    )
    .argument("<benchmark>", BENCH_HELP)
    .requiredOption(
      "--data <folder>",
      "the benchmark's folder in LLaVA's layout (playground/data/eval/<benchmark>)",
    )
    .requiredOption(
      "--out <file>",
      "answers file (answers.jsonl); appended to, and resumed from after a crash",
    )
    .option("--endpoint <url>", "an OpenAI-compatible server (imp serve, vLLM, llama.cpp server, ...)")
    .option(
      "--model-name <name>",
      "the `model` field sent to the endpoint (default: its first /v1/models id)",
    )
    .addOption(new Option("--api-key <key>", "bearer token for the endpoint").env("OPENAI_API_KEY"))
    .option("--shard <i/n>", "answer only shard i of n (0-based, contiguous like LLaVA's --chunk-idx)")
    .option("--limit <n>", "answer only the first n questions (of the shard)", positiveInt)
    .option("--concurrency <n>", "questions in flight at once", positiveInt, 1)
    .option("--questions <file>", "question file (default: LLaVA's name for the benchmark, in --data)")
    .option("--image-folder <dir>", "image folder (default: LLaVA's, in --data)")
    .option("--max-tokens <n>", "max new tokens (default 128; 1024 for scienceqa and mmbench)", positiveInt)
    .option(
      "--no-single-pred-prompt",
      "scienceqa/mmbench: do not append the letter instruction (Imp's shipped scripts)",
    )
    .option("--timeout <seconds>", "per-request timeout", positiveInt, 300)
    .option("--no-score", "only answer; do not score or write the report")
    .option("--allow-missing", "score even if some questions could not be answered")
    .option("--variant <name>", "scorer variant (see imp eval score --help)")
    .option("--no-progress", "no progress bar")
    .addHelpText(
      "after",
      `
Data folder (LLaVA's playground/data/eval/<benchmark>):
  vqav2      llava_vqav2_mscoco_test-dev2015.jsonl, test2015/ (+ llava_vqav2_mscoco_test2015.jsonl for the upload)
  textvqa    llava_textvqa_val_v051_ocr.jsonl, train_images/, TextVQA_0.5.1_val.json
  gqa        llava_gqa_testdev_balanced.jsonl, data/images/, data/testdev_balanced_questions.json
  scienceqa  llava_test_CQM-A.json, images/test/, problems.json, pid_splits.json
  pope       llava_pope_test.jsonl, val2014/, coco/
  mme        llava_mme.jsonl, MME_Benchmark_release_version/
  mmbench    mmbench_dev_20230712.tsv
Beside --out FILE.jsonl it writes FILE.summary.json, FILE.report.md and the official tools' inputs
(FILE.submission.json for VQAv2, FILE.mme/ for MME's eval_tool, FILE.gqa_predictions.json).
Decoding is greedy; each question carries the benchmark's official answer-format instruction.
Ctrl-C stops cleanly; rerunning the same command resumes.`,
    )
    .action(
      async (
        bench: string,
        o: {
          data: string;
          out: string;
          endpoint?: string;
          model?: string;
          dtype: ModelCliOptions["dtype"];
          visionDtype?: ModelCliOptions["visionDtype"];
          kvDtype?: ModelCliOptions["kvDtype"];
          visionTower?: string;
          backend: ModelCliOptions["backend"];
          threads?: number;
          imageTokens?: number;
          modelName?: string;
          apiKey?: string;
          shard?: string;
          limit?: number;
          concurrency: number;
          questions?: string;
          imageFolder?: string;
          maxTokens?: number;
          singlePredPrompt: boolean;
          timeout: number;
          score: boolean;
          allowMissing?: boolean;
          variant?: string;
          progress: boolean;
        },
      ) => {
        const name = await benchName(bench);
        if (o.endpoint && o.model) {
          throw new UsageError("imp eval run: give --endpoint URL or --model DIR, not both");
        }
        if (o.endpoint && o.imageTokens !== undefined)
          throw new UsageError(
            "imp eval run: --image-tokens sets a local model's visual tokens; start the server with it instead",
          );
        const { runEval, parseShard } = await import("../../eval/runner.js");
        let answerer: import("../../eval/answerer.js").Answerer;
        // The model answering (the built-in model when no --model is given), recorded as the answers' source.
        let source = o.endpoint ?? "";
        if (!o.endpoint) {
          const { createLocalAnswerer } = await import("../../eval/local-answerer.js");
          const m = await resolveModelOption(o);
          source = m.label;
          answerer = await createLocalAnswerer(m.folder, {
            dtype: o.dtype,
            visionDtype: o.visionDtype,
            kvDtype: o.kvDtype,
            visionTower: m.visionTower,
            backend: o.backend,
            threads: o.threads,
            imageTokens: o.imageTokens,
          });
        } else {
          const { OpenAiAnswerer } = await import("../../eval/openai-answerer.js");
          answerer = await OpenAiAnswerer.create({
            endpoint: o.endpoint!,
            model: o.modelName,
            apiKey: o.apiKey,
            timeoutS: o.timeout,
          });
        }
        const ctrl = new AbortController();
        const onSigint = () => {
          process.stderr.write(
            "\nimp eval run: stopping; the answers so far are kept (Ctrl-C again to quit at once)\n",
          );
          ctrl.abort(new UsageError("interrupted"));
          process.once("SIGINT", () => process.exit(130));
        };
        process.once("SIGINT", onSigint);
        try {
          const summary = await runEval({
            benchmark: name,
            data: o.data,
            out: o.out,
            answerer,
            source,
            shard: o.shard ? parseShard(o.shard) : undefined,
            limit: o.limit,
            concurrency: o.concurrency,
            questions: o.questions,
            imageFolder: o.imageFolder,
            maxTokens: o.maxTokens,
            singlePredPrompt: o.singlePredPrompt,
            progress: o.progress ? process.stderr : false,
            signal: ctrl.signal,
            score: o.score,
            allowMissing: o.allowMissing,
            variant: o.variant,
          });
          print(summary);
        } finally {
          process.removeListener("SIGINT", onSigint);
          await answerer.close?.();
        }
      },
    );

  evalCmd
    .command("merge")
    .description("merge the answers files of a sharded run in question order, then score and report")
    .argument("<benchmark>", BENCH_HELP)
    .argument("<shards...>", "the shards' answers files (any order)")
    .requiredOption("--data <folder>", "the benchmark's folder in LLaVA's layout (to order and score)")
    .requiredOption("--out <file>", "the merged answers file")
    .option("--questions <file>", "question file, if not LLaVA's default name")
    .option("--image-folder <dir>", "image folder, if not LLaVA's default")
    .option("--no-single-pred-prompt", "as given to imp eval run")
    .option("--no-score", "only merge")
    .option("--allow-missing", "score even if some questions have no answer")
    .option("--variant <name>", "scorer variant (see imp eval score --help)")
    .action(
      async (
        bench: string,
        shards: string[],
        o: {
          data: string;
          out: string;
          questions?: string;
          imageFolder?: string;
          singlePredPrompt: boolean;
          score: boolean;
          allowMissing?: boolean;
          variant?: string;
        },
      ) => {
        const name = await benchName(bench);
        const { mergeShards } = await import("../../eval/merge.js");
        const r = mergeShards({ benchmark: name, shards, ...o });
        if (r.dropped > 0)
          process.stderr.write(`imp eval merge: dropped ${r.dropped} repeated or unknown lines\n`);
        print(r.summary);
      },
    );

  evalCmd
    .command("report")
    .description("compare runs: a markdown table of their headline numbers and an SVG bar chart")
    .argument("<summaries...>", "FILE.summary.json files written by imp eval run / merge")
    .requiredOption("--out <file>", "markdown report to write")
    .option("--chart <file>", "SVG chart to write (default: the report's name with .svg)")
    .action(async (files: string[], o: { out: string; chart?: string }) => {
      const { readJson } = await import("../../eval/files.js");
      const { writeAtomic } = await import("../../util/atomic-file.js");
      const { renderComparison, renderComparisonSvg } = await import("../../eval/report.js");
      const runs = files.map((f) => readJson(f, "run summary") as import("../../eval/runner.js").RunSummary);
      for (const [i, r] of runs.entries()) {
        if (!r || typeof r !== "object" || typeof r.benchmark !== "string" || typeof r.model !== "string") {
          throw new UsageError(`${files[i]}: not a run summary (FILE.summary.json from imp eval run)`);
        }
      }
      const chart = o.chart ?? o.out.replace(/\.md$/i, "") + ".svg";
      writeAtomic(chart, renderComparisonSvg(runs));
      writeAtomic(o.out, renderComparison(runs, chart.split("/").at(-1)));
      print({ report: resolve(o.out), chart: resolve(chart), runs: runs.length });
    });
}
