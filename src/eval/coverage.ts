/**
 * What to do when a predictions file does not answer every question: say how many are missing and stop,
 * unless the caller allows it (`--allow-missing`), in which case each scorer scores what exists the way its
 * official script would (see each scorer's comment).
 */
import { FormatError } from "../util/errors.js";
import { showKey } from "./files.js";

export interface ScoreOptions {
  /** Score what exists instead of failing when predictions are missing. */
  allowMissing?: boolean;
  /** A variant of the official script (see each benchmark's `variants`); the primary one when absent. */
  variant?: string;
  /** ScienceQA: the pid_splits.json split to score ("test" by default, as the official script). */
  split?: string;
}

export interface Coverage {
  /** Questions the benchmark defines. */
  questions: number;
  /** Questions without a prediction. */
  missing: number;
}

/** Throws unless every question has a prediction or missing ones are allowed. */
export function checkCoverage(
  predictionsFile: string,
  total: number,
  missingKeys: string[],
  opts: ScoreOptions,
  whatHappens: string,
  what = "questions have no prediction",
): Coverage {
  if (missingKeys.length > 0 && !opts.allowMissing) {
    const first = missingKeys.slice(0, 3).map(showKey).join(", ");
    throw new FormatError(
      `${predictionsFile}: ${missingKeys.length} of ${total} ${what} ` +
        `(first: ${first}${missingKeys.length > 3 ? ", ..." : ""}). Answer them (imp eval run resumes where it stopped) ` +
        `or pass --allow-missing, which ${whatHappens}.`,
    );
  }
  return { questions: total, missing: missingKeys.length };
}
