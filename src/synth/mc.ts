/**
 * Lettered multiple choice (MMBench/ScienceQA-like) built from a short-answer question: up to four options, the
 * answer among them, distractors drawn first from the scene's tempting wrong answers (colours that are present,
 * neighbouring counts) and then from the family's pool. The prompt is laid out as LLaVA's MMBench loader lays it
 * out ("question\nA. …\nB. …"), and the letter suffix is the official one.
 */
import type { Rng } from "../util/random.js";
import type { Qa } from "./qa.js";
import { sample } from "./sampling.js";

export const LETTERS = ["A", "B", "C", "D"] as const;
// The official suffix, one definition shared with the eval runner that asks it.
export { LETTER_PROMPT } from "../eval/tasks.js";

export interface Mc {
  qa: Qa;
  options: string[];
  /** Index of the right option. */
  answer: number;
  /** MMBench leaf category and its level-2 group. */
  category: string;
  l2: string;
}

/** MMBench-style categories of question families. */
export function mcCategory(family: string): { category: string; l2: string } {
  const inst = "finegrained_perception (instance-level)";
  if (family.startsWith("chart-"))
    return { category: "structuralized_imagetext_understanding", l2: "logic_reasoning" };
  if (family.startsWith("sign-") || family === "label") {
    return family === "sign-colorof" || family === "sign-count"
      ? { category: family === "sign-count" ? "counting" : "attribute_recognition", l2: inst }
      : { category: "ocr", l2: inst };
  }
  if (family.startsWith("relation")) {
    return { category: "spatial_relationship", l2: "finegrained_perception (cross-instance)" };
  }
  if (family === "position") return { category: "object_localization", l2: inst };
  if (family === "count" || family === "compare-count") return { category: "counting", l2: inst };
  if (family === "exist") return { category: "existence", l2: "coarse_perception" };
  return { category: "attribute_recognition", l2: inst };
}

/** Turns a question into a multiple-choice one with up to `n` options. */
export function makeMc(qa: Qa, rng: Rng, n = 4): Mc {
  const wrongHard = [...new Set(qa.hard)].filter((x) => x !== qa.answer && qa.pool.includes(x));
  const chosen = sample(rng, wrongHard, Math.min(2, n - 1));
  const rest = qa.pool.filter((x) => x !== qa.answer && !chosen.includes(x));
  chosen.push(...sample(rng, rest, n - 1 - chosen.length));
  const options = [qa.answer, ...chosen];
  rng.shuffle(options);
  return { qa, options, answer: options.indexOf(qa.answer), ...mcCategory(qa.family) };
}

/** "question\nA. x\nB. y…" as LLaVA's MMBench loader builds it (the letter suffix not included). */
export function mcPrompt(question: string, options: readonly string[]): string {
  return [question, ...options.map((o, i) => `${LETTERS[i]}. ${o}`)].join("\n");
}

/** The options rotated left by k (MMBench's circular passes). */
export function rotate<T>(options: readonly T[], k: number): T[] {
  const m = options.length;
  return options.map((_, i) => options[(i + k) % m]!);
}
