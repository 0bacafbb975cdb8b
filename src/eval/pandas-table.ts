/**
 * Reading a TSV the way `pandas.read_csv(sep="\t")` / `read_table` does, as far as the MMBench scripts can
 * tell the difference: quoted fields, blank lines skipped, pandas' default NA strings become missing, and each
 * column gets one type from all its values (int, float, bool or text). The type matters because the scripts
 * call `str()` on option cells: a column holding only numbers and some blanks is float64, so "3" reads "3.0".
 *
 * Also the round trip through Excel that LLaVA's MMBench converter (`to_excel`, openpyxl) and the OpenCompass
 * evaluator (`read_excel`) put every cell through.
 */
import { FormatError } from "../util/errors.js";
import { pyFloatRepr, pyLen } from "./python-compat.js";

/** pandas' default `na_values`: a cell equal to one of these is missing. */
export const PANDAS_NA_STRINGS: ReadonlySet<string> = new Set([
  "",
  "#N/A",
  "#N/A N/A",
  "#NA",
  "-1.#IND",
  "-1.#QNAN",
  "-NaN",
  "-nan",
  "1.#IND",
  "1.#QNAN",
  "<NA>",
  "N/A",
  "NA",
  "NULL",
  "NaN",
  "None",
  "n/a",
  "nan",
  "null",
]);

export type ColumnKind = "int" | "float" | "bool" | "text";

/** A parsed column: raw cell strings (null = missing) and the type pandas would give it. */
export interface Column {
  raw: (string | null)[];
  kind: ColumnKind;
  hasNa: boolean;
}

export interface Table {
  file: string;
  header: string[];
  columns: Map<string, Column>;
  rowCount: number;
  /** 1-based line of each row in the file, for messages. */
  lines: number[];
}

// pandas' number parsing skips surrounding spaces and accepts "1.", ".5", "1e5", "inf", "Infinity".
const INT_RE = /^ *[+-]?\d+ *$/;
const FLOAT_RE = /^ *[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf|infinity) *$/i;
const TRUE_STRINGS = new Set(["True", "TRUE", "true"]);
const FALSE_STRINGS = new Set(["False", "FALSE", "false"]);

/** Splits TSV text into records of fields, with pandas' quoting: a field that starts with `"` is quoted. */
function splitRecords(text: string, file: string): { fields: string[]; line: number }[] {
  const out: { fields: string[]; line: number }[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    let blank = true;
    for (;;) {
      // One field: quoted if it starts with '"', else up to the next tab or line end (sliced, not built up).
      let field = "";
      if (text.charCodeAt(i) === 34) {
        blank = false;
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) throw new FormatError(`${file}:${startLine}: a quoted field is never closed`);
          const chunk = text.slice(i, q);
          for (let k = chunk.indexOf("\n"); k >= 0; k = chunk.indexOf("\n", k + 1)) line++;
          field += chunk;
          if (text.charCodeAt(q + 1) === 34) {
            field += '"';
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
      }
      let j = i;
      while (j < n) {
        const c = text.charCodeAt(j);
        if (c === 9 || c === 10 || c === 13) break;
        j++;
      }
      if (j > i) blank = false;
      field += text.slice(i, j);
      fields.push(field);
      i = j;
      if (i >= n) break;
      const c = text.charCodeAt(i);
      if (c === 9) {
        blank = false;
        i++;
        continue;
      }
      i += c === 13 && text.charCodeAt(i + 1) === 10 ? 2 : 1;
      line++;
      break;
    }
    if (!blank) out.push({ fields, line: startLine });
  }
  return out;
}

function inferKind(values: string[]): ColumnKind {
  if (values.length === 0) return "float"; // an all-missing column is float64 (NaN)
  if (values.every((v) => INT_RE.test(v))) return "int";
  if (values.every((v) => FLOAT_RE.test(v))) return "float";
  if (values.every((v) => TRUE_STRINGS.has(v) || FALSE_STRINGS.has(v))) return "bool";
  return "text";
}

/** Parses TSV text (first record is the header). */
export function parseTable(text: string, file: string): Table {
  const records = splitRecords(text.startsWith("\ufeff") ? text.slice(1) : text, file);
  if (records.length === 0) throw new FormatError(`${file}: empty table (no header line)`);
  const header = records[0]!.fields;
  const rows = records.slice(1);
  const raw: (string | null)[][] = header.map(() => []);
  for (const r of rows) {
    if (r.fields.length > header.length) {
      throw new FormatError(
        `${file}:${r.line}: expected ${header.length} tab-separated fields, saw ${r.fields.length}`,
      );
    }
    header.forEach((_, c) => {
      const v = r.fields[c];
      raw[c]!.push(v === undefined || PANDAS_NA_STRINGS.has(v) ? null : v);
    });
  }
  const columns = new Map<string, Column>();
  header.forEach((h, c) => {
    const cells = raw[c]!;
    const present = cells.filter((v): v is string => v !== null);
    columns.set(h, { raw: cells, kind: inferKind(present), hasNa: present.length < cells.length });
  });
  return { file, header, columns, rowCount: rows.length, lines: rows.map((r) => r.line) };
}

const integralCache = new WeakMap<Column, boolean>();

/** Whether every present value of a numeric column is a whole number (cached: tables are large). */
function allIntegral(col: Column): boolean {
  let v = integralCache.get(col);
  if (v === undefined) {
    v = col.raw.every((s) => s === null || Number.isInteger(numberOf(s)));
    integralCache.set(col, v);
  }
  return v;
}

function numberOf(v: string): number {
  const t = v.trim().toLowerCase().replace(/^\+/, "");
  if (t === "inf" || t === "infinity") return Number.POSITIVE_INFINITY;
  if (t === "-inf" || t === "-infinity") return Number.NEGATIVE_INFINITY;
  return Number(v);
}

/**
 * `str(cell)` as the scripts see it after reading the TSV: text as is, an int column's values as integers
 * (float64, so "3.0", when the column also has blanks), floats as Python writes them, bools as True/False.
 * With `excel`, the value has also been through `to_excel` + `read_excel`, which turns integral floats back into
 * ints when the column has no blanks.
 */
export function cellString(col: Column, row: number, excel = false): string | null {
  const v = col.raw[row];
  if (v === null || v === undefined) return null;
  switch (col.kind) {
    case "text":
      return v;
    case "bool":
      // Excel hands booleans back as numbers when the column also has blanks (float64).
      if (excel && col.hasNa) return TRUE_STRINGS.has(v) ? "1.0" : "0.0";
      return TRUE_STRINGS.has(v) ? "True" : "False";
    case "int":
    case "float": {
      // pandas keeps an int column as int64 only without blanks; Excel hands integral numbers back as ints
      // (and has no negative zero).
      // An int column's "-0" is the integer 0.
      const x = (excel || col.kind === "int") && Object.is(numberOf(v), -0) ? 0 : numberOf(v);
      const asInt = excel ? !col.hasNa && allIntegral(col) : col.kind === "int" && !col.hasNa;
      if (asInt && col.kind === "int") return BigInt(v.trim().replace(/^\+/, "")).toString();
      if (asInt && Number.isInteger(x)) return BigInt(x).toString();
      return pyFloatRepr(x);
    }
  }
}

/** A column's cell as text, or null when missing; a missing column is all null. */
export function cell(table: Table, name: string, row: number, excel = false): string | null {
  const col = table.columns.get(name);
  return col ? cellString(col, row, excel) : null;
}

/** Characters openpyxl refuses to write (its ILLEGAL_CHARACTERS_RE: C0 controls but tab, newline, CR). */
function hasExcelIllegal(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return true;
  }
  return false;
}

/**
 * One text cell written by openpyxl and read back by `read_excel`, before the column's type inference:
 * null when it comes back missing (an NA string, or text starting with "=" that openpyxl stores as a formula with
 * no value). Longer than 32767 characters is cut. A control character makes the converter fail.
 */
export function excelTextRoundTrip(text: string, where: string): string | null {
  if (hasExcelIllegal(text)) {
    throw new FormatError(
      `${where}: the answer holds a control character, which LLaVA's MMBench converter (openpyxl) cannot write`,
    );
  }
  // XML turns "\r\n" and a lone "\r" into "\n".
  let t = text.replace(/\r\n?/g, "\n");
  if (pyLen(t) > 32767) t = Array.from(t).slice(0, 32767).join("");
  if (pyLen(t) > 1 && t.startsWith("=")) return null;
  return PANDAS_NA_STRINGS.has(t) ? null : t;
}

/**
 * `[str(x) for x in column]` for a text column that went through Excel: `read_excel` types it like `read_csv`
 * (all integers: int64, or float64 with blanks; all numbers: float64; all True/False: bool); missing cells read
 * "nan".
 */
export function excelColumnStrings(values: (string | null)[]): string[] {
  const present = values.filter((v): v is string => v !== null);
  const kind = present.length > 0 ? inferKind(present) : "text";
  const hasNa = present.length < values.length;
  return values.map((v) => {
    if (v === null) return "nan";
    if (kind === "int") {
      const n = BigInt(v.trim().replace(/^\+/, ""));
      return hasNa ? pyFloatRepr(Number(n)) : n.toString();
    }
    if (kind === "float") return pyFloatRepr(numberOf(v));
    if (kind === "bool") return TRUE_STRINGS.has(v) ? "True" : "False";
    return v;
  });
}
