/**
 * Reading an option letter out of a free-form MMBench answer without an LLM judge: `can_infer` of the official
 * evaluators, two versions.
 *
 * OpenCompass `tools/eval_mmbench.py` (the primary one, used for MMBench-dev numbers of LLaVA and Imp):
 * - An answer containing "Failed to obtain answer via API" reads nothing.
 * - Split on whitespace. If exactly one of A-E is a whole word, that letter, unless "A" is a word and there are
 *   more than 3 words ("A" may be the article), in which case this step gives up.
 * - Then, for each decoration in order — "X.", "X,", "X:", "X)", "X).", "(X)", "(X).", ":X", ":X,", ":X.", ":X)",
 *   ":X)." — if exactly one of A-E appears as a word so decorated, that letter.
 * - Otherwise by text: lower-cased, if exactly one option's text (str() of the cell, lower-cased) occurs in
 *   the answer as a substring, that option. Note E can be returned although MMBench has at most four options:
 *   it then simply counts as wrong.
 *
 * VLMEvalKit `vlmeval/utils/matching_util.py` (variant `vlmevalkit`):
 * - "Failed to obtain answer via API" reads nothing; a known refusal phrase reads "Z" (wrong).
 * - Each of `.()[],:;!*#{}` becomes a space, then split on whitespace; if exactly one of the question's option
 *   letters is a word, that letter (the "A"-as-article check only runs with the VERBOSE environment variable
 *   set, so it is off); if none is but "Z" is a word, "Z".
 * - Otherwise the same text rule as above.
 */
import { pyLower, pySplit } from "./python-compat.js";

/** The option texts of a question, keyed by letter, in letter order. */
export type Choices = ReadonlyArray<readonly [string, string]>;

function textMatch(answer: string, choices: Choices): string | false {
  const a = pyLower(answer);
  const cands = choices.filter(([, text]) => a.includes(pyLower(text))).map(([k]) => k);
  return cands.length === 1 ? cands[0]! : false;
}

const OC_DECORATIONS: ReadonlyArray<readonly [string, string]> = [
  ["", "."],
  ["", ","],
  ["", ":"],
  ["", ")"],
  ["", ")."],
  ["(", ")"],
  ["(", ")."],
  [":", ""],
  [":", ","],
  [":", "."],
  [":", ")"],
  [":", ")."],
];

/** OpenCompass `can_infer_option` (letters A-E whatever the question's options are). */
export function openCompassInferOption(answer: string): string | false {
  const letters = ["A", "B", "C", "D", "E"];
  if (answer.includes("Failed to obtain answer via API")) return false;
  const words = pySplit(answer);
  const count = (pre: string, suf: string) => letters.filter((c) => words.includes(pre + c + suf)).length;
  if (count("", "") === 1) {
    const quantifier = words.includes("A") && words.length > 3;
    if (!quantifier) for (const ch of letters) if (words.includes(ch)) return ch;
  }
  for (const [pre, suf] of OC_DECORATIONS) {
    if (count(pre, suf) === 1) for (const ch of letters) if (words.includes(pre + ch + suf)) return ch;
  }
  return false;
}

/** OpenCompass `can_infer`: a letter, or false when only an LLM judge could say. */
export function openCompassCanInfer(answer: string, choices: Choices): string | false {
  return openCompassInferOption(answer) || textMatch(answer, choices);
}

const REFUSALS = [
  "Sorry, I can't help with images of people yet.",
  "I can't process this file.",
  "I'm sorry, but without the image provided",
  "Cannot determine the answer",
];

/** VLMEvalKit `can_infer_option`. */
export function vlmEvalKitInferOption(answer: string, choices: Choices): string | false {
  if (answer.includes("Failed to obtain answer via API")) return false;
  if (REFUSALS.some((r) => answer.includes(r))) return "Z";
  let mod = answer;
  for (const c of ".()[],:;!*#{}") mod = mod.split(c).join(" ");
  const words = pySplit(mod);
  const letters = choices.map(([k]) => k);
  const count = letters.filter((c) => words.includes(c)).length;
  if (count === 1) {
    for (const ch of letters) if (words.includes(ch)) return ch;
  } else if (count === 0 && words.includes("Z")) return "Z";
  return false;
}

/** VLMEvalKit `can_infer`. */
export function vlmEvalKitCanInfer(answer: string, choices: Choices): string | false {
  return vlmEvalKitInferOption(answer, choices) || textMatch(answer, choices);
}
