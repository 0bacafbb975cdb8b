/**
 * MMBench circular scoring without an LLM judge, identical to LLaVA `scripts/convert_mmbench_for_submission.py`
 * (answers.jsonl -> xlsx) followed by OpenCompass `tools/eval_mmbench.py` with the ChatGPT judge never called.
 *
 * - The question TSV holds each question once per circular pass: row `index` is the original, rows
 *   `index + k * 1000000` repeat it with the options rotated (and the answer letter moved).
 * - The converter copies every TSV row and fills `prediction` from the answer line whose `question_id` equals
 *   the row's `index`; a row nobody answered, and any answer that Excel gives back empty, reads "nan"
 *   (see pandas-table.ts for the Excel round trip).
 * - A question (group of passes) scores 1 only if every pass's letter equals that row's `answer`. A pass whose
 *   letter can be read (mmbench-match.ts) and is wrong makes the group 0 straight away; if no pass is wrong but
 *   some cannot be read, the official evaluator asks ChatGPT. Here such a group counts 0, and the result says how
 *   many groups (`groups_needing_judge`) and answers (`unparseable_answers`) that concerned.
 * - Accuracy is the mean over original questions (index < 1000000), per split; `circular_accuracy` is the "dev"
 *   split's (all rows when no row is marked dev), with the same per `l2-category` and `category`.
 *
 * Variant `vlmevalkit` (VLMEvalKit `mcq_circular_eval` in exact-matching mode): only the rows that were answered
 * are evaluated, without the Excel round trip, with VLMEvalKit's `can_infer`; a group whose original row was
 * not answered is not scored.
 */
import { join } from "node:path";
import { FormatError } from "../util/errors.js";
import { type Coverage, checkCoverage, type ScoreOptions } from "./coverage.js";
import { at, expectObject, expectString, field, idKey, readJsonl, readText } from "./files.js";
import { type Choices, openCompassCanInfer, vlmEvalKitCanInfer } from "./mmbench-match.js";
import { cell, excelColumnStrings, excelTextRoundTrip, parseTable, type Table } from "./pandas-table.js";

export const MMBENCH_VARIANTS = ["opencompass", "vlmevalkit"] as const;
const CIRCULAR = 1_000_000;

export interface MmbenchRow {
  index: number;
  answer: string;
  category: string | null;
  l2: string | null;
  split: string | null;
}

/** Reads the question TSV (any MMBench-format file) with pandas' typing of cells. */
export function readMmbenchTable(path: string): Table {
  const table = parseTable(readText(path, "MMBench TSV"), path);
  for (const col of ["index", "question", "A", "B"]) {
    if (!table.columns.has(col)) throw new FormatError(`${path}: missing column "${col}"`);
  }
  const idx = table.columns.get("index")!;
  if (idx.kind !== "int" || idx.hasNa)
    throw new FormatError(`${path}: the "index" column must hold an integer in every row`);
  return table;
}

/** Options of a row in letter order (A-D, missing cells skipped), as `str()` sees them. */
export function rowChoices(
  table: Table,
  row: number,
  excel: boolean,
  letters = ["A", "B", "C", "D"],
): Choices {
  const out: [string, string][] = [];
  for (const l of letters) {
    const v = cell(table, l, row, excel);
    if (v !== null) out.push([l, v]);
  }
  return out;
}

export interface MmbenchScore extends Coverage {
  benchmark: "mmbench";
  variant: (typeof MMBENCH_VARIANTS)[number];
  /** Fraction of questions right on every circular pass (dev split). */
  circular_accuracy: number | null;
  /** Same per split: full, dev, test (null where a split has no question). */
  overall: Record<string, number | null>;
  l2: Record<string, number | null>;
  leaf: Record<string, number | null>;
  groups: number;
  hits: number;
  /** Answers no rule could read (an LLM judge would have been asked about them). */
  unparseable_answers: number;
  /** Groups counted wrong only because an unreadable answer would have gone to the judge. */
  groups_needing_judge: number;
}

export interface MmbenchPaths {
  tsv: string;
  answers: string;
}

export function scoreMmbench(paths: MmbenchPaths, opts: ScoreOptions = {}): MmbenchScore {
  const variant = (opts.variant ?? "opencompass") as MmbenchScore["variant"];
  if (!MMBENCH_VARIANTS.includes(variant)) {
    throw new FormatError(
      `mmbench: unknown variant "${opts.variant}" (known: ${MMBENCH_VARIANTS.join(", ")})`,
    );
  }
  const table = readMmbenchTable(paths.tsv);
  const answerCol = table.columns.get("answer");
  if (!answerCol)
    throw new FormatError(`${paths.tsv}: missing column "answer" (the test split has no answers to score)`);
  const indexCol = table.columns.get("index")!;
  const rows = Array.from({ length: table.rowCount }, (_, r) => r);
  const indexOf = (r: number) => Number(indexCol.raw[r]);

  // Answer lines: last one per question id wins (the converter overwrites).
  const texts = new Map<string, { text: string; where: string }>();
  for (const rec of readJsonl(paths.answers, "MMBench answers file")) {
    const where = at(paths.answers, rec.line);
    const o = expectObject(rec.value, where);
    texts.set(idKey(field(o, "question_id", where), `${where}.question_id`), {
      text: expectString(field(o, "text", where), `${where}.text`),
      where,
    });
  }
  const missing = rows.map((r) => `n:${indexOf(r)}`).filter((k) => !texts.has(k));
  const coverage = checkCoverage(
    paths.answers,
    rows.length,
    missing,
    opts,
    variant === "opencompass"
      ? 'scores them as the answer "nan", as the official converter writes them'
      : "leaves them out, as VLMEvalKit does",
  );

  // The prediction each row is judged on.
  let predictions: (string | null)[];
  if (variant === "opencompass") {
    const cells = rows.map((r) => {
      const t = texts.get(`n:${indexOf(r)}`);
      return t === undefined ? null : excelTextRoundTrip(t.text, t.where);
    });
    predictions = excelColumnStrings(cells);
  } else {
    predictions = rows.map((r) => texts.get(`n:${indexOf(r)}`)?.text ?? null);
  }
  const infer = variant === "opencompass" ? openCompassCanInfer : vlmEvalKitCanInfer;
  const excel = variant === "opencompass";
  // OpenCompass builds choices from columns A-D; VLMEvalKit from every single-capital-letter column.
  const letters = excel ? ["A", "B", "C", "D"] : table.header.filter((h) => /^[A-Z]$/.test(h)).sort();

  // Group the rows by original question, in index order.
  const groups = new Map<number, number[]>();
  const ordered = rows.filter((r) => predictions[r] !== null).sort((a, b) => indexOf(a) - indexOf(b));
  for (const r of ordered) {
    const g = ((indexOf(r) % CIRCULAR) + CIRCULAR) % CIRCULAR;
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(r);
  }
  const mainRows = ordered.filter((r) => indexOf(r) < CIRCULAR);

  let unparseable = 0;
  let needJudge = 0;
  const hitOf = new Map<number, number>();
  for (const main of mainRows) {
    const g = indexOf(main);
    let anyWrong = false;
    let anyUnread = false;
    for (const r of groups.get(g) ?? []) {
      const gt = cell(table, "answer", r);
      const letter = infer(predictions[r]!, rowChoices(table, r, excel, letters));
      if (letter === false) {
        anyUnread = true;
        unparseable++;
      } else if (letter !== gt) anyWrong = true;
    }
    if (!anyWrong && anyUnread) needJudge++;
    hitOf.set(main, anyWrong || anyUnread ? 0 : 1);
  }

  const splitOf = (r: number) => cell(table, "split", r);
  const mean = (rs: number[]) =>
    rs.length === 0 ? null : rs.reduce((s, r) => s + hitOf.get(r)!, 0) / rs.length;
  const hasDev = mainRows.some((r) => splitOf(r) === "dev");
  const selected = hasDev ? mainRows.filter((r) => splitOf(r) === "dev") : mainRows;
  const byGroup = (col: string) => {
    const cats = [...new Set(selected.map((r) => cell(table, col, r) ?? "nan"))].sort();
    return Object.fromEntries(
      cats.map((c) => [c, mean(selected.filter((r) => (cell(table, col, r) ?? "nan") === c))]),
    );
  };
  return {
    benchmark: "mmbench",
    variant,
    circular_accuracy: mean(selected),
    overall: {
      full: mean(mainRows),
      dev: mean(mainRows.filter((r) => splitOf(r) === "dev")),
      test: mean(mainRows.filter((r) => splitOf(r) === "test")),
    },
    l2: byGroup("l2-category"),
    leaf: byGroup("category"),
    groups: mainRows.length,
    hits: [...hitOf.values()].reduce((a, b) => a + b, 0),
    unparseable_answers: unparseable,
    groups_needing_judge: needJudge,
    ...coverage,
  };
}

/** A folder laid out like the fixtures: mmbench_dev.tsv and answers.jsonl. */
export function scoreMmbenchFolder(folder: string, opts: ScoreOptions = {}): MmbenchScore {
  return scoreMmbench({ tsv: join(folder, "mmbench_dev.tsv"), answers: join(folder, "answers.jsonl") }, opts);
}
