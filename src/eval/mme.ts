/**
 * MME scoring, identical to the MME team's `eval_tool/calculation.py` (BradyFU/Awesome-Multimodal-Large-Language-
 * Models, branch Evaluation).
 *
 * - One `<subtask>.txt` per subtask, read with Python's universal newlines; each line is
 *   `image \t question \t Yes|No \t prediction`, and the prediction keeps the line's trailing newline.
 * - Lines are taken two at a time (the two questions about one image, in file order), so the file must have an
 *   even number of lines.
 * - Reading a prediction (lower-cased): "yes" or "no" exactly, else look at its first four characters (newline
 *   included): "yes" inside means yes, else "no" inside means no, else "other" (always wrong). So "  yes" is
 *   other, "No." is no, "not sure" is no.
 * - Subtask score = 100 * accuracy + 100 * accuracy+ (the share of images with both answers right); perception
 *   and cognition are the sums of their subtasks' scores, added in the script's subtask order.
 *
 * Coverage: a subtask file that is absent is missing; --allow-missing leaves it out of the totals.
 * Deliberate difference: a line without exactly 4 tab-separated fields is an error here; the script prints it,
 * skips it and carries on with the pairs shifted, which gives a number for a file that is broken.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FormatError } from "../util/errors.js";
import { type Coverage, checkCoverage, type ScoreOptions } from "./coverage.js";
import { readText } from "./files.js";
import { pyReadLines } from "./python-compat.js";

export const MME_SUBTASKS = {
  perception: [
    "existence",
    "count",
    "position",
    "color",
    "posters",
    "celebrity",
    "scene",
    "landmark",
    "artwork",
    "OCR",
  ],
  cognition: ["commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning"],
} as const;

/** calculation.py `parse_pred_ans` on an already lower-cased prediction. */
export function mmeReadAnswer(pred: string): "yes" | "no" | "other" {
  if (pred === "yes" || pred === "no") return pred;
  const prefix = Array.from(pred).slice(0, 4).join("");
  if (prefix.includes("yes")) return "yes";
  if (prefix.includes("no")) return "no";
  return "other";
}

export interface MmeSubtaskScore {
  score: number;
  acc: number;
  acc_plus: number;
  images: number;
  other_answers: number;
}

/** Scores one subtask file's text (see the file comment). */
export function scoreMmeSubtask(text: string, file: string): MmeSubtaskScore {
  const lines = pyReadLines(text);
  if (lines.length === 0) throw new FormatError(`${file}: empty subtask file`);
  if (lines.length % 2 !== 0) {
    throw new FormatError(
      `${file}:${lines.length}: odd number of lines; each image needs exactly two questions`,
    );
  }
  let right = 0;
  let imagesRight = 0;
  let other = 0;
  for (let i = 0; i < lines.length; i += 2) {
    let imgRight = 0;
    for (let j = i; j < i + 2; j++) {
      const fields = lines[j]!.split("\t");
      if (fields.length !== 4) {
        throw new FormatError(
          `${file}:${j + 1}: expected 4 tab-separated fields (image, question, Yes/No, prediction), found ${fields.length}`,
        );
      }
      const gt = fields[2]!.toLowerCase();
      if (gt !== "yes" && gt !== "no")
        throw new FormatError(
          `${file}:${j + 1}: ground truth must be Yes or No, found ${JSON.stringify(fields[2])}`,
        );
      const pred = mmeReadAnswer(fields[3]!.toLowerCase());
      if (pred === gt) {
        right++;
        imgRight++;
      }
      if (pred === "other") other++;
    }
    if (imgRight === 2) imagesRight++;
  }
  const images = lines.length / 2;
  const acc = right / lines.length;
  const accPlus = imagesRight / images;
  return { score: acc * 100 + accPlus * 100, acc, acc_plus: accPlus, images, other_answers: other };
}

export interface MmeScore extends Coverage {
  benchmark: "mme";
  perception: number;
  cognition: number;
  subtasks: Record<string, number>;
  details: Record<string, MmeSubtaskScore>;
}

/** Scores a folder of `<subtask>.txt` files (the eval_tool's `answers/<experiment>` folder). */
export function scoreMme(folder: string, opts: ScoreOptions = {}): MmeScore {
  const all = [...MME_SUBTASKS.perception, ...MME_SUBTASKS.cognition];
  const missing = all.filter((t) => !existsSync(join(folder, `${t}.txt`)));
  const coverage = checkCoverage(
    folder,
    all.length,
    missing,
    opts,
    "leaves the missing subtasks out of the totals",
    "subtask files are missing",
  );
  const subtasks: Record<string, number> = {};
  const details: Record<string, MmeSubtaskScore> = {};
  const totals = { perception: 0, cognition: 0 };
  for (const kind of ["perception", "cognition"] as const) {
    for (const task of MME_SUBTASKS[kind]) {
      const file = join(folder, `${task}.txt`);
      if (!existsSync(file)) continue;
      const s = scoreMmeSubtask(readText(file), file);
      details[task] = s;
      subtasks[task] = s.score;
      totals[kind] += s.score;
    }
  }
  return {
    benchmark: "mme",
    perception: totals.perception,
    cognition: totals.cognition,
    subtasks,
    details,
    ...coverage,
  };
}
