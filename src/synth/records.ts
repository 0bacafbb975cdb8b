/**
 * Training data in LLaVA format (`{id, image, conversations: [{from: "human"|"gpt", value}]}`, the first human
 * turn starting with "<image>\n"), one record per scene and category, mirroring the categories of Imp's mix:
 * - caption: stage 1, LLaVA-Pretrain style (a brief-description prompt, a one-sentence caption);
 * - vqa: short answers about colour, shape, count, relation, position, size (VQAv2/GQA-like), 3 turns;
 * - pope: yes/no existence with random, popular and adversarial negatives (POPE-like), 4 turns;
 * - text: reading signs and labels (TextVQA-like), 2 turns;  chart: chart questions (ChartQA/DVQA-like), 2 turns;
 * - mc: one lettered multiple-choice question (MMBench/ScienceQA-like);
 * - detail: a detailed description (ShareGPT-4V-like);  conv: a multi-turn conversation with sentence answers
 *   (ALLaVA-like).
 * Short-answer and yes/no turns end with LLaVA-1.5's "Answer the question using a single word or phrase.", as
 * the benchmark question files do, so training and evaluation prompts match.
 */

import { SHORT_ANSWER_PROMPT } from "../eval/tasks.js";
import { IMAGE_TOKEN } from "../io/tokenizer/index.js";
import type { Rng } from "../util/random.js";
import { caption, describe } from "./describe.js";
import { LETTER_PROMPT, LETTERS, makeMc, mcPrompt } from "./mc.js";
import { POPE_KINDS, type PopeStats, popeNegatives, popeQuestion, presentCategories } from "./pope.js";
import { drawQuestions, type Family, namedBoxes, type Qa, SHAPES_FAMILIES } from "./qa.js";
import { CHART_FAMILIES } from "./qa-chart.js";
import { TEXT_FAMILIES } from "./qa-text.js";
import { chance, pick, rngFor, STREAM, sample } from "./sampling.js";
import type { Scene } from "./scene.js";

// The official suffix, one definition shared with the eval runner that asks it.
export const SHORT_PROMPT = SHORT_ANSWER_PROMPT;

export interface Turn {
  from: "human" | "gpt";
  value: string;
}

export interface LlavaRecord {
  id: string;
  image: string;
  conversations: Turn[];
  /** Boxes of what the first question names, for the trainer's dense image-token signal (src/train/records.ts). */
  named_boxes?: [number, number, number, number][];
}

export const RECORD_CATEGORIES = ["caption", "vqa", "pope", "text", "chart", "mc", "detail", "conv"] as const;
export type RecordCategory = (typeof RECORD_CATEGORIES)[number];

/** LLaVA's prompts for brief descriptions (llava/.../blip_laion_cc_sbu_558k instructions), a few of them. */
export const BRIEF_PROMPTS = [
  "Describe the image concisely.",
  "Provide a brief description of the given image.",
  "Offer a succinct explanation of the picture presented.",
  "Summarize the visual content of the image.",
  "Give a short and clear explanation of the subsequent image.",
  "Share a concise interpretation of the image provided.",
  "Render a clear and concise summary of the photo.",
  "Write a terse but informative summary of the picture.",
];

/** How a conversation record that opens with a caption asks for it. */
export const CONV_OPENINGS = [
  "What is in this image?",
  "What do you see in this image?",
  "What does this image show?",
];

/** LLaVA's prompts for detailed descriptions. */
export const DETAIL_PROMPTS = [
  "Describe the following image in detail.",
  "Provide a detailed description of the given image.",
  "Give an elaborate explanation of the image you see.",
  "Share a comprehensive rundown of the presented image.",
  "Offer a thorough analysis of the image.",
  "Explain the various aspects of the image before you.",
  "Walk through the important details of the image.",
  "Write an exhaustive depiction of the given image.",
];

/** Question families that suit a scene's kind. */
export function familiesFor(scene: Scene): readonly { name: string; make: Family; weight: number }[] {
  return scene.kind === "shapes" ? SHAPES_FAMILIES : scene.kind === "text" ? TEXT_FAMILIES : CHART_FAMILIES;
}

/** Human/gpt turns for questions, "<image>\n" before the first. */
export function qaTurns(pairs: readonly { q: string; a: string }[]): Turn[] {
  const turns: Turn[] = [];
  pairs.forEach(({ q, a }, i) => {
    turns.push({ from: "human", value: i === 0 ? `${IMAGE_TOKEN}\n${q}` : q });
    turns.push({ from: "gpt", value: a });
  });
  return turns;
}

/** A question turn asked with the short-answer suffix, answered with the canonical short answer. */
export const shortTurn = (qa: Qa) => ({ q: `${qa.question}\n${SHORT_PROMPT}`, a: qa.answer });

function record(scene: Scene, image: string, cat: RecordCategory, turns: Turn[]): LlavaRecord {
  return { id: `${scene.id}-${cat}`, image, conversations: turns };
}

/** Yes/no existence turns: two present categories, two absent ones (each from a randomly chosen POPE kind). */
export function popeTurns(scene: Scene, stats: PopeStats, rng: Rng): { q: string; a: string }[] {
  const present = presentCategories(scene);
  if (present.length === 0) return [];
  const yes = sample(rng, present, 2).map((c) => ({ q: popeQuestion(c), a: "yes" }));
  const no: { q: string; a: string }[] = [];
  for (let i = 0; i < 2; i++) {
    const kind = pick(rng, POPE_KINDS);
    const taken = new Set(no.map((x) => x.q));
    const neg = popeNegatives(kind, scene, stats, 3, rng).find((c) => !taken.has(popeQuestion(c)));
    if (neg) no.push({ q: popeQuestion(neg), a: "no" });
  }
  const all = [...yes, ...no];
  rng.shuffle(all);
  return all.map((x) => ({ q: `${x.q}\n${SHORT_PROMPT}`, a: x.a }));
}

export interface RecordOptions {
  /**
   * The share (0–1) of conversation records that open with one of their questions instead of "What is in this
   * image?" and a caption. 0 (the built-in model's world) leaves no record that asks a long-answer question right
   * after the image, as `imp run --image … "How many …?"` does (docs/builtin-model.md).
   */
  convQuestionFirst?: number;
}

/** Every category's record for one scene (categories that do not apply to its kind are absent). */
export function sceneRecords(
  scene: Scene,
  image: string,
  stats: PopeStats,
  opts: RecordOptions = {},
): Partial<Record<RecordCategory, LlavaRecord>> {
  const rng = rngFor(scene.id, STREAM.questions);
  const out: Partial<Record<RecordCategory, LlavaRecord>> = {};
  out.caption = record(
    scene,
    image,
    "caption",
    qaTurns([{ q: pick(rng, BRIEF_PROMPTS), a: caption(scene, rng) }]),
  );
  const families = familiesFor(scene);
  const shortCat: RecordCategory = scene.kind === "shapes" ? "vqa" : scene.kind;
  const qs = drawQuestions(scene, rng, families, scene.kind === "shapes" ? 3 : 2);
  if (qs.length > 0) {
    const rec = record(scene, image, shortCat, qaTurns(qs.map(shortTurn)));
    const boxes = namedBoxes(scene, qs[0]!);
    if (boxes) rec.named_boxes = boxes;
    out[shortCat] = rec;
  }
  if (scene.kind === "shapes") {
    const turns = popeTurns(scene, stats, rng);
    if (turns.length > 0) out.pope = record(scene, image, "pope", qaTurns(turns));
  }
  const [mcQa] = drawQuestions(scene, rng, families, 1);
  if (mcQa) {
    const mc = makeMc(mcQa, rng);
    const prompt = `${mcPrompt(mcQa.question, mc.options)}\n${LETTER_PROMPT}`;
    out.mc = record(scene, image, "mc", qaTurns([{ q: prompt, a: LETTERS[mc.answer]! }]));
  }
  out.detail = record(
    scene,
    image,
    "detail",
    qaTurns([{ q: pick(rng, DETAIL_PROMPTS), a: describe(scene, rng) }]),
  );
  const conv = drawQuestions(scene, rng, families, 3).map((qa) => ({ q: qa.question, a: qa.long }));
  // Drawn only when asked for, so that a world without it keeps its bytes.
  const share = opts.convQuestionFirst ?? 0;
  const questionFirst = share > 0 && chance(rng, share);
  if (!questionFirst || conv.length === 0)
    conv.unshift({ q: pick(rng, CONV_OPENINGS), a: caption(scene, rng) });
  out.conv = record(scene, image, "conv", qaTurns(conv));
  return out;
}
