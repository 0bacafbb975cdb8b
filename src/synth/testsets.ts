/**
 * Evaluation sets of the generated world in the official benchmark formats, each in a folder laid out as
 * LLaVA's `playground/data/eval/BENCH` (so `imp eval run` asks it) and as `../shared/fixtures/eval/BENCH`
 * (so `imp eval score` scores it once answers.jsonl / results.json is added):
 * - vqav2/: short answers (colour, shape, count, relation, position, size, yes/no) as VQA v2 questions.json +
 *   annotations.json (10 identical answers, answer_type, question_type) and llava_vqav2_mscoco_test-dev2015.jsonl;
 * - gqa/: relation/attribute/existence questions as GQA testdev_balanced_questions.json + LLaVA jsonl;
 * - pope/: coco/coco_pope_{adversarial,popular,random}.json + llava_pope_test.jsonl (3 present and 3 absent
 *   categories per image and kind);
 * - textvqa/: reading signs and labels as TextVQA_0.5.1_val.json + llava_textvqa_val_v051_ocr.jsonl (no OCR
 *   tokens are given: reading is the task);
 * - chartqa/: chart questions in the TextVQA layout (TextVQA's scorer normalises case, punctuation and articles
 *   on both sides and takes exact matches, which suits printed labels and integers; ChartQA's 5% relaxed match
 *   is not among the project's scorers, and values are read, not estimated);
 * - mmbench/: lettered multiple choice with circular passes (rows index + k·1000000), images inline (base64 on
 *   the first pass, the first pass's index on the others), as mmbench_dev.tsv and mmbench_dev_20230712.tsv;
 * - scienceqa/: the same multiple-choice questions as ScienceQA-IMG problems.json + pid_splits.json +
 *   llava_test_CQM-A.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeAtomic } from "../util/atomic-file.js";
import { LETTERS, makeMc, mcPrompt, rotate } from "./mc.js";
import { POPE_KINDS, popeNegatives, popeQuestion, popeStats, presentCategories } from "./pope.js";
import { drawQuestions, type Family, type Qa, SHAPES_FAMILIES } from "./qa.js";
import { CHART_FAMILIES } from "./qa-chart.js";
import { TEXT_FAMILIES } from "./qa-text.js";
import { familiesFor, SHORT_PROMPT } from "./records.js";
import { rngFor, STREAM, sample } from "./sampling.js";
import type { Scene } from "./scene.js";
import { imageName } from "./world.js";

export const EVAL_BENCHMARKS = [
  "vqav2",
  "gqa",
  "pope",
  "textvqa",
  "chartqa",
  "mmbench",
  "scienceqa",
] as const;
export type EvalBenchmark = (typeof EVAL_BENCHMARKS)[number];

/** Which scorer of `imp eval score` reads each folder. */
export const SCORER_OF: Readonly<Record<EvalBenchmark, string>> = {
  vqav2: "vqav2",
  gqa: "gqa",
  pope: "pope",
  textvqa: "textvqa",
  chartqa: "textvqa",
  mmbench: "mmbench",
  scienceqa: "scienceqa",
};

export interface EvalSetOptions {
  /** Folder that receives one sub-folder per benchmark. */
  dir: string;
  /** The split's scenes (each benchmark takes the kinds it needs). */
  scenes: readonly Scene[];
  /** PNG bytes of a scene. */
  png: (scene: Scene) => Uint8Array;
  /** Most images in POPE (default 200; POPE has 500). */
  popeImages?: number;
  /** Most multiple-choice questions (default 300). */
  mcQuestions?: number;
}

/** Questions written per benchmark. */
export type EvalCounts = Record<EvalBenchmark, number>;

const VQA_INFO = { description: "imp-ts generated world", version: "2.0", year: 2024 };
const LICENSE = { name: "Apache-2.0", url: "https://www.apache.org/licenses/LICENSE-2.0" };

function writeJson(path: string, value: unknown): void {
  writeAtomic(path, JSON.stringify(value));
}

function writeJsonl(path: string, rows: readonly unknown[]): void {
  writeAtomic(path, rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
}

function writeImages(dir: string, scenes: readonly Scene[], png: (s: Scene) => Uint8Array): void {
  mkdirSync(dir, { recursive: true });
  // Plain writes, as the world's images (write-world.ts): the world is complete once world.json is written.
  for (const s of scenes) writeFileSync(join(dir, imageName(s.id)), png(s));
}

/** A scene's questions for one benchmark (its own stream, so benchmarks do not shift each other). */
function questions(
  scene: Scene,
  tag: number,
  families: readonly { name: string; make: Family; weight: number }[],
  k: number,
): Qa[] {
  return drawQuestions(scene, rngFor(scene.id, STREAM.questions ^ tag), families, k);
}

const ten = (a: string) => Array.from({ length: 10 }, () => a);

export function writeVqav2(dir: string, scenes: readonly Scene[], png: (s: Scene) => Uint8Array): number {
  const shapes = scenes.filter((s) => s.kind === "shapes");
  const qs: { scene: Scene; qa: Qa; id: number }[] = [];
  for (const s of shapes) {
    questions(s, 0x1, SHAPES_FAMILIES, 3).forEach((qa, k) => {
      qs.push({ scene: s, qa, id: s.id * 10 + k });
    });
  }
  mkdirSync(dir, { recursive: true });
  const common = { data_type: "mscoco", data_subtype: "val2014" };
  writeJson(join(dir, "questions.json"), {
    info: VQA_INFO,
    task_type: "Open-Ended",
    ...common,
    license: LICENSE,
    questions: qs.map(({ scene, qa, id }) => ({
      image_id: scene.id,
      question: qa.question,
      question_id: id,
    })),
  });
  writeJson(join(dir, "annotations.json"), {
    info: VQA_INFO,
    license: LICENSE,
    ...common,
    annotations: qs.map(({ scene, qa, id }) => ({
      question_type: qa.questionType,
      multiple_choice_answer: qa.answer,
      answers: ten(qa.answer).map((answer, i) => ({ answer, answer_confidence: "yes", answer_id: i + 1 })),
      image_id: scene.id,
      answer_type: qa.answerType,
      question_id: id,
    })),
  });
  writeJsonl(
    join(dir, "llava_vqav2_mscoco_test-dev2015.jsonl"),
    qs.map(({ scene, qa, id }) => ({
      question_id: id,
      image: imageName(scene.id),
      text: `${qa.question}\n${SHORT_PROMPT}`,
      category: "default",
    })),
  );
  writeImages(join(dir, "test2015"), shapes, png);
  return qs.length;
}

const GQA_FAMILIES = SHAPES_FAMILIES.filter((f) =>
  ["relation", "relation-yn", "color", "shape", "size", "color-yn", "exist"].includes(f.name),
);

function gqaTypes(qa: Qa): { structural: string; semantic: string } {
  const structural = qa.answerType === "yes/no" ? "verify" : qa.family === "relation" ? "choose" : "query";
  const semantic = qa.family.startsWith("relation") ? "rel" : qa.family === "exist" ? "obj" : "attr";
  return { structural, semantic };
}

export function writeGqa(dir: string, scenes: readonly Scene[], png: (s: Scene) => Uint8Array): number {
  const shapes = scenes.filter((s) => s.kind === "shapes");
  const out: Record<string, unknown> = {};
  const lines: unknown[] = [];
  for (const s of shapes) {
    questions(s, 0x2, GQA_FAMILIES, 2).forEach((qa, k) => {
      const qid = String(s.id * 10 + k);
      const types = gqaTypes(qa);
      out[qid] = {
        semantic: [],
        entailed: [],
        equivalent: [qid],
        question: qa.question,
        imageId: imageName(s.id).replace(/\.png$/, ""),
        isBalanced: true,
        groups: { global: types.structural === "query" ? qa.family : null, local: qa.family },
        answer: qa.answer,
        semanticStr: "",
        annotations: { answer: {}, question: {}, fullAnswer: {} },
        types: { detailed: qa.family, ...types },
        fullAnswer: qa.long,
      };
      lines.push({ question_id: qid, image: imageName(s.id), text: `${qa.question}\n${SHORT_PROMPT}` });
    });
  }
  mkdirSync(dir, { recursive: true });
  writeJson(join(dir, "testdev_balanced_questions.json"), out);
  writeJsonl(join(dir, "llava_gqa_testdev_balanced.jsonl"), lines);
  writeImages(join(dir, "data", "images"), shapes, png);
  return lines.length;
}

export function writePope(
  dir: string,
  scenes: readonly Scene[],
  png: (s: Scene) => Uint8Array,
  maxImages = 200,
): number {
  const chosen = scenes
    .filter((s) => s.kind === "shapes" && presentCategories(s).length >= 3)
    .slice(0, maxImages);
  const stats = popeStats(chosen);
  mkdirSync(join(dir, "coco"), { recursive: true });
  const llava: unknown[] = [];
  for (const kind of POPE_KINDS) {
    const rows: unknown[] = [];
    for (const s of chosen) {
      // The same three present categories in every kind's file, as POPE does.
      const pos = sample(rngFor(s.id, STREAM.negatives), presentCategories(s), 3);
      const neg = popeNegatives(kind, s, stats, 3, rngFor(s.id, STREAM.negatives ^ 0x55));
      for (let k = 0; k < 3; k++) {
        for (const [cat, label] of [
          [pos[k]!, "yes"],
          [neg[k]!, "no"],
        ] as const) {
          const q = popeQuestion(cat);
          rows.push({ question_id: rows.length + 1, image: imageName(s.id), text: q, label });
          llava.push({
            question_id: llava.length + 1,
            image: imageName(s.id),
            text: `${q}\n${SHORT_PROMPT}`,
            category: kind,
          });
        }
      }
    }
    writeJsonl(join(dir, "coco", `coco_pope_${kind}.json`), rows);
  }
  writeJsonl(join(dir, "llava_pope_test.jsonl"), llava);
  writeImages(join(dir, "val2014"), chosen, png);
  return llava.length;
}

/** 16 hex digits, as TextVQA's image ids look. */
export function textVqaImageId(seed: number): string {
  return seed.toString(16).padStart(16, "0");
}

/** TextVQA-layout set (used for reading and for charts). */
export function writeTextVqaLayout(
  dir: string,
  scenes: readonly Scene[],
  png: (s: Scene) => Uint8Array,
  kind: "text" | "chart",
): number {
  const chosen = scenes.filter((s) => s.kind === kind);
  const families = kind === "text" ? TEXT_FAMILIES : CHART_FAMILIES;
  const data: unknown[] = [];
  const lines: unknown[] = [];
  for (const s of chosen) {
    questions(s, kind === "text" ? 0x3 : 0x4, families, 2).forEach((qa, k) => {
      const imageId = textVqaImageId(s.id);
      data.push({
        question: qa.question,
        image_id: imageId,
        image_classes: [kind === "text" ? "Sign" : "Chart"],
        flickr_original_url: "",
        flickr_300k_url: "",
        image_width: s.width,
        image_height: s.height,
        answers: ten(qa.answer),
        question_tokens: qa.question
          .toLowerCase()
          .replace(/[?.,"]/g, "")
          .split(" "),
        question_id: s.id * 10 + k,
        set_name: "val",
      });
      lines.push({ question_id: imageId, image: imageName(s.id), text: `${qa.question}\n${SHORT_PROMPT}` });
    });
  }
  mkdirSync(dir, { recursive: true });
  writeJson(join(dir, "TextVQA_0.5.1_val.json"), {
    dataset_type: "val",
    dataset_name: "textvqa",
    dataset_version: "0.5.1",
    data,
  });
  writeJsonl(join(dir, "llava_textvqa_val_v051_ocr.jsonl"), lines);
  writeImages(join(dir, "train_images"), chosen, png);
  return lines.length;
}

interface McItem {
  scene: Scene;
  question: string;
  options: string[];
  answer: number;
  category: string;
  l2: string;
}

function mcItems(scenes: readonly Scene[], max: number): McItem[] {
  const out: McItem[] = [];
  for (const s of scenes) {
    if (out.length >= max) break;
    const rng = rngFor(s.id, STREAM.mc);
    const [qa] = drawQuestions(s, rng, familiesFor(s), 1);
    if (!qa) continue;
    const mc = makeMc(qa, rng);
    out.push({
      scene: s,
      question: qa.question,
      options: mc.options,
      answer: mc.answer,
      category: mc.category,
      l2: mc.l2,
    });
  }
  return out;
}

const MMBENCH_COLUMNS = [
  "index",
  "question",
  "hint",
  "A",
  "B",
  "C",
  "D",
  "answer",
  "category",
  "image",
  "source",
  "l2-category",
  "comment",
  "split",
];

export function writeMmbench(dir: string, items: readonly McItem[], png: (s: Scene) => Uint8Array): number {
  const rows: string[] = [MMBENCH_COLUMNS.join("\t")];
  let n = 0;
  items.forEach((it, index) => {
    const m = it.options.length;
    for (let k = 0; k < m; k++) {
      const opts = rotate(it.options, k);
      const answer = LETTERS[(it.answer - k + m) % m]!;
      const cells = [
        String(index + k * 1_000_000),
        it.question,
        "",
        ...LETTERS.map((_, j) => opts[j] ?? ""),
        answer,
        it.category,
        k === 0 ? Buffer.from(png(it.scene)).toString("base64") : String(index),
        "imp-ts world",
        it.l2,
        "",
        "dev",
      ];
      rows.push(cells.join("\t"));
      n++;
    }
  });
  mkdirSync(dir, { recursive: true });
  const tsv = `${rows.join("\n")}\n`;
  writeAtomic(join(dir, "mmbench_dev.tsv"), tsv);
  writeAtomic(join(dir, "mmbench_dev_20230712.tsv"), tsv);
  return n;
}

export function writeScienceQa(dir: string, items: readonly McItem[], png: (s: Scene) => Uint8Array): number {
  const problems: Record<string, unknown> = {};
  const llava: unknown[] = [];
  const pids: string[] = [];
  for (const it of items) {
    const pid = String(it.scene.id);
    pids.push(pid);
    problems[pid] = {
      question: it.question,
      choices: it.options,
      answer: it.answer,
      hint: "",
      image: "image.png",
      task: "closed choice",
      grade: "grade1",
      subject: "natural science",
      topic: "imp-ts-world",
      category: it.category,
      skill: it.category,
      lecture: "",
      solution: "",
      split: "test",
    };
    llava.push({
      id: pid,
      image: `${pid}/image.png`,
      conversations: [
        { from: "human", value: `<image>\n${mcPrompt(it.question, it.options)}` },
        { from: "gpt", value: LETTERS[it.answer] },
      ],
    });
    const imgDir = join(dir, "images", "test", pid);
    mkdirSync(imgDir, { recursive: true });
    writeFileSync(join(imgDir, "image.png"), png(it.scene)); // plain, as writeImages says
  }
  writeJson(join(dir, "problems.json"), problems);
  writeJson(join(dir, "pid_splits.json"), {
    train: [],
    val: [],
    test: pids,
    minival: [],
    minitrain: [],
    trainval: [],
  });
  writeJson(join(dir, "llava_test_CQM-A.json"), llava);
  return pids.length;
}

/** Writes every benchmark folder; returns the number of questions (rows, for MMBench) of each. */
export function writeEvalSets(opts: EvalSetOptions): EvalCounts {
  const { dir, scenes, png } = opts;
  const mc = mcItems(scenes, opts.mcQuestions ?? 300);
  return {
    vqav2: writeVqav2(join(dir, "vqav2"), scenes, png),
    gqa: writeGqa(join(dir, "gqa"), scenes, png),
    pope: writePope(join(dir, "pope"), scenes, png, opts.popeImages ?? 200),
    textvqa: writeTextVqaLayout(join(dir, "textvqa"), scenes, png, "text"),
    chartqa: writeTextVqaLayout(join(dir, "chartqa"), scenes, png, "chart"),
    mmbench: writeMmbench(join(dir, "mmbench"), mc, png),
    scienceqa: writeScienceQa(join(dir, "scienceqa"), mc, png),
  };
}
