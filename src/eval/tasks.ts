/**
 * The questions of each benchmark as LLaVA's evaluation lays them out (its `playground/data/eval/BENCH` folders,
 * named by LLaVA's and Imp's `scripts/eval/*.sh`), turned into tasks: the text and image the model is asked, and
 * the answer line `llava/eval/model_vqa_*.py` writes for it.
 *
 * - VQAv2, TextVQA, GQA, POPE, MME (`model_vqa_loader.py`): JSON lines `{question_id, image, text}`; the model
 *   sees the image and `text`, which already ends with "Answer the question using a single word or phrase."
 *   in LLaVA's files (added here when a file lacks it); the line's `prompt` is `text`.
 * - ScienceQA (`model_vqa_science.py`): `llava_test_CQM-A.json`, the question is the first turn's value without
 *   "<image>"; with `--single-pred-prompt` (LLaVA-1.5's sqa.sh; the default here) "Answer with the option's
 *   letter from the given choices directly." is appended; `prompt` is that, after "<image>\n" when there is an
 *   image.
 * - MMBench (`model_vqa_mmbench.py`): one task per TSV row (the circular passes are rows of their own): hint
 *   (if any) + "\n" + question + "\nA. ..." per option up to the first missing one; the letter suffix is added for
 *   the model but not to `prompt`; the image is base64 in the row.
 * - Generation is greedy; at most 128 new tokens for the loader benchmarks and 1024 for ScienceQA and MMBench,
 *   as the scripts' defaults.
 */
import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { IMAGE_TOKEN } from "../io/tokenizer/index.js";
import { FormatError, UsageError } from "../util/errors.js";
import type { BenchmarkName } from "./benchmarks.js";
import {
  at,
  expectArray,
  expectObject,
  expectString,
  field,
  idKey,
  readJson,
  readJsonl,
  readText,
} from "./files.js";
import { parseTable } from "./pandas-table.js";
import { pyStrip } from "./python-compat.js";

export const SHORT_ANSWER_PROMPT = "Answer the question using a single word or phrase.";
export const LETTER_PROMPT = "Answer with the option's letter from the given choices directly.";

/** Where each benchmark's files live inside its data folder (LLaVA's layout). */
export const DATA_LAYOUT: Readonly<Record<BenchmarkName, { questions: string; images: string | null }>> = {
  vqav2: { questions: "llava_vqav2_mscoco_test-dev2015.jsonl", images: "test2015" },
  textvqa: { questions: "llava_textvqa_val_v051_ocr.jsonl", images: "train_images" },
  gqa: { questions: "llava_gqa_testdev_balanced.jsonl", images: "data/images" },
  scienceqa: { questions: "llava_test_CQM-A.json", images: "images/test" },
  pope: { questions: "llava_pope_test.jsonl", images: "val2014" },
  mme: { questions: "llava_mme.jsonl", images: "MME_Benchmark_release_version" },
  mmbench: { questions: "mmbench_dev_20230712.tsv", images: null },
};

export type TaskImage = { path: string } | { base64: string } | null;

export interface EvalTask {
  /** Position in the question file. */
  order: number;
  questionId: string | number;
  /**
   * Resume key: question id + recorded prompt (TextVQA ids repeat per image, so the id alone is not enough).
   * Identical questions share a key; they are matched to answer lines by count.
   */
  key: string;
  /** What the model is asked (no image token). */
  prompt: string;
  image: TaskImage;
  maxTokens: number;
  /** The answer line in LLaVA's format. */
  line(text: string, answerId: string, modelId: string): Record<string, unknown>;
}

export interface TaskOptions {
  /** Question file, relative to the data folder or absolute; LLaVA's name by default. */
  questions?: string;
  /** Image folder, relative to the data folder or absolute. */
  imageFolder?: string;
  /** Append the letter prompt to ScienceQA/MMBench questions (default true, as LLaVA-1.5). */
  singlePredPrompt?: boolean;
  /** Overrides the per-benchmark max new tokens. */
  maxTokens?: number;
}

function resolveIn(dir: string, p: string): string {
  return isAbsolute(p) ? p : join(dir, p);
}

/** Resume key of a question or answer line: its question id and recorded prompt. */
export function answerKey(questionId: unknown, prompt: string, where: string): string {
  return JSON.stringify([idKey(questionId, where), prompt]);
}

/** Every question of a benchmark, in file order. */
export function loadTasks(bench: BenchmarkName, dataDir: string, opts: TaskOptions = {}): EvalTask[] {
  if (!existsSync(dataDir)) throw new UsageError(`--data ${dataDir}: folder not found`);
  const layout = DATA_LAYOUT[bench];
  const qfile = resolveIn(dataDir, opts.questions ?? layout.questions);
  if (!existsSync(qfile)) {
    throw new UsageError(
      `${qfile}: question file not found; ${bench} expects LLaVA's ${layout.questions} in the data folder (or pass --questions FILE)`,
    );
  }
  const imageDir = resolveIn(dataDir, opts.imageFolder ?? layout.images ?? ".");
  const drafts =
    bench === "scienceqa"
      ? scienceQaTasks(qfile, imageDir, opts)
      : bench === "mmbench"
        ? mmbenchTasks(qfile, opts)
        : loaderTasks(qfile, imageDir, opts);
  return drafts.map((d, i) => ({ ...d.task, order: i, key: d.baseKey }));
}

interface Draft {
  baseKey: string;
  task: Omit<EvalTask, "order" | "key">;
}

function loaderTasks(qfile: string, imageDir: string, opts: TaskOptions): Draft[] {
  return readJsonl(qfile, "question file").map((rec) => {
    const where = at(qfile, rec.line);
    const o = expectObject(rec.value, where);
    const qid = field(o, "question_id", where);
    let text = expectString(field(o, "text", where), `${where}.text`);
    if (!text.includes(SHORT_ANSWER_PROMPT)) text = `${text}\n${SHORT_ANSWER_PROMPT}`;
    const image = expectString(field(o, "image", where), `${where}.image`);
    return {
      baseKey: answerKey(qid, text, where),
      task: {
        questionId: qid as string | number,
        prompt: text,
        image: { path: join(imageDir, image) },
        maxTokens: opts.maxTokens ?? 128,
        line: (t, answerId, modelId) => ({
          question_id: qid,
          prompt: text,
          text: t,
          answer_id: answerId,
          model_id: modelId,
          metadata: {},
        }),
      },
    };
  });
}

function scienceQaTasks(qfile: string, imageDir: string, opts: TaskOptions): Draft[] {
  const list = expectArray(readJson(qfile, "ScienceQA question file"), qfile);
  return list.map((item, i) => {
    const where = at(qfile, undefined, `[${i}]`);
    const o = expectObject(item, where);
    const id = field(o, "id", where);
    const convs = expectArray(field(o, "conversations", where), `${where}.conversations`);
    if (convs.length === 0) throw new FormatError(`${where}.conversations: empty`);
    const first = expectObject(convs[0], `${where}.conversations[0]`);
    let qs: string = expectString(field(first, "value", where), `${where}.conversations[0].value`).replaceAll(
      IMAGE_TOKEN,
      "",
    );
    qs = pyStrip(qs);
    const hasImage = Object.hasOwn(o, "image");
    let recorded = hasImage ? `${IMAGE_TOKEN}\n${qs}` : qs;
    if (opts.singlePredPrompt ?? true) {
      qs = `${qs}\n${LETTER_PROMPT}`;
      recorded = `${recorded}\n${LETTER_PROMPT}`;
    }
    return {
      baseKey: answerKey(id, recorded, where),
      task: {
        questionId: id as string | number,
        prompt: qs,
        image: hasImage ? { path: join(imageDir, expectString(o.image, `${where}.image`)) } : null,
        maxTokens: opts.maxTokens ?? 1024,
        line: (t, answerId, modelId) => ({
          question_id: id,
          prompt: recorded,
          text: t,
          answer_id: answerId,
          model_id: modelId,
          metadata: {},
        }),
      },
    };
  });
}

/** LLaVA's `is_none`: missing, or the text "nan"/"none" in any case. */
function isNone(v: string | null): boolean {
  return v === null || v.toLowerCase() === "nan" || v.toLowerCase() === "none";
}

function mmbenchTasks(qfile: string, opts: TaskOptions): Draft[] {
  const table = parseTable(readText(qfile, "MMBench TSV"), qfile);
  for (const c of ["index", "question", "image"]) {
    if (!table.columns.has(c)) throw new FormatError(`${qfile}: missing column "${c}"`);
  }
  const raw = (c: string, r: number) => table.columns.get(c)?.raw[r] ?? null;
  const imageByIndex = new Map<string, string>();
  for (let r = 0; r < table.rowCount; r++) {
    const idx = raw("index", r);
    const img = raw("image", r);
    if (idx !== null && img !== null) imageByIndex.set(idx, img);
  }
  const letters = ["A", "B", "C", "D"];
  const drafts: Draft[] = [];
  for (let r = 0; r < table.rowCount; r++) {
    const where = at(qfile, table.lines[r]);
    const idxText = raw("index", r);
    if (idxText === null || !/^-?\d+$/.test(idxText))
      throw new FormatError(`${where}: "index" must be an integer`);
    const index = Number(idxText);
    const options: string[] = [];
    for (const l of letters) {
      const v = raw(l, r);
      if (isNone(v)) break;
      options.push(v!);
    }
    const optionChars = letters.slice(0, options.length);
    let question = raw("question", r) ?? "nan";
    const hint = raw("hint", r);
    if (!isNone(hint)) question = `${hint}\n${question}`;
    options.forEach((opt, k) => {
      question = `${question}\n${optionChars[k]}. ${opt}`;
    });
    let img = raw("image", r);
    // Newer MMBench TSVs store an image once and refer to it by row index elsewhere.
    if (img !== null && img.length <= 64 && /^\d+$/.test(img)) img = imageByIndex.get(img) ?? img;
    if (img === null) throw new FormatError(`${where}: row has no image`);
    const recorded = question;
    const asked = (opts.singlePredPrompt ?? true) ? `${question}\n${LETTER_PROMPT}` : question;
    drafts.push({
      baseKey: answerKey(index, recorded, where),
      task: {
        questionId: index,
        prompt: asked,
        image: { base64: img },
        maxTokens: opts.maxTokens ?? 1024,
        line: (t, answerId, modelId) => ({
          question_id: index,
          round_id: 0,
          prompt: recorded,
          text: t,
          options,
          option_char: optionChars,
          answer_id: answerId,
          model_id: modelId,
          metadata: {},
        }),
      },
    });
  }
  return drafts;
}
