/**
 * Reading benchmark files (JSON, JSON lines) with errors that name the file, the line and the key, typed
 * question-id keys that compare as Python dict keys do (outputs are written with util/atomic-file.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { FormatError } from "../util/errors.js";

/** A JSON object as parsed. */
export type JsonObject = Record<string, unknown>;

/** Reads a UTF-8 file; a missing file is a FormatError naming it and what it should hold. */
export function readText(path: string, what = "file"): string {
  if (!existsSync(path)) throw new FormatError(`${path}: ${what} not found`);
  return readFileSync(path, "utf8");
}

/** Line and column (1-based) of a UTF-16 offset in a text. */
function lineCol(text: string, pos: number): { line: number; col: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, col: pos - last };
}

/**
 * Offset of the first JSON syntax error in `text` (a small recursive-descent check, since Node 20's
 * JSON.parse messages do not always give a position), or -1 when the text is valid.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const lit = (w: string) => {
    if (text.startsWith(w, i)) i += w.length;
    else fail();
  };
  const str = () => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) fail();
      if (text[i] === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 5;
        } else if ('"\\/bfnrt'.includes(text[i] ?? "x")) i++;
        else fail();
      } else i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        str();
        ws();
        if (text[i] !== ":") fail();
        i++;
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return;
        } else fail();
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          return;
        } else fail();
      }
    } else if (c === '"') str();
    else if (c === "t") lit("true");
    else if (c === "f") lit("false");
    else if (c === "n") lit("null");
    else {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      if (!m || m[0] === "") fail();
      i += m![0].length;
    }
  };
  try {
    value();
    ws();
    return i < text.length ? i : -1;
  } catch (pos) {
    return typeof pos === "number" ? pos : 0;
  }
}

/** Parses a whole-file JSON document; a syntax error names the file, line and column. */
export function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const off = jsonErrorOffset(text);
    const where = off >= 0 ? `:${lineCol(text, off).line}:${lineCol(text, off).col}` : "";
    throw new FormatError(`${path}${where}: invalid JSON (${msg})`, { cause: err });
  }
}

export function readJson(path: string, what = "JSON file"): unknown {
  return parseJson(readText(path, what), path);
}

/** One JSON-lines record with the 1-based line it came from. */
export interface JsonlRecord {
  line: number;
  value: unknown;
}

/**
 * Parses JSON lines. Blank lines are skipped (Python's `json.loads` would crash on them, so skipping cannot
 * change a number the official script prints); anything else that is not JSON names the file and line.
 */
export function parseJsonl(text: string, path: string): JsonlRecord[] {
  const out: JsonlRecord[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === "") continue;
    try {
      out.push({ line: i + 1, value: JSON.parse(raw) });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new FormatError(`${path}:${i + 1}: invalid JSON line (${msg})`, { cause: err });
    }
  }
  return out;
}

export function readJsonl(path: string, what = "JSON-lines file"): JsonlRecord[] {
  return parseJsonl(readText(path, what), path);
}

/** Where a value came from, for error messages: "file:line" plus a key path. */
export function at(path: string, line?: number, key?: string): string {
  return `${path}${line !== undefined ? `:${line}` : ""}${key ? ` (${key})` : ""}`;
}

export function expectObject(v: unknown, where: string): JsonObject {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new FormatError(`${where}: expected a JSON object, found ${describe(v)}`);
  }
  return v as JsonObject;
}

export function expectArray(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw new FormatError(`${where}: expected a JSON array, found ${describe(v)}`);
  return v;
}

export function expectString(v: unknown, where: string): string {
  if (typeof v !== "string") throw new FormatError(`${where}: expected a string, found ${describe(v)}`);
  return v;
}

export function expectNumber(v: unknown, where: string): number {
  if (typeof v !== "number") throw new FormatError(`${where}: expected a number, found ${describe(v)}`);
  return v;
}

/** Reads a required key of an object, naming the key when it is absent. */
export function field(obj: JsonObject, key: string, where: string): unknown {
  if (!Object.hasOwn(obj, key)) throw new FormatError(`${where}: missing key "${key}"`);
  return obj[key];
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string")
    return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

/**
 * A question id as a dict key the way Python compares them: the string "1" and the number 1 are different
 * keys (an answers file with numeric ids does not match string ids), while 1, 1.0 and True are the same.
 */
export function idKey(v: unknown, where: string): string {
  if (typeof v === "string") return `s:${v}`;
  if (typeof v === "number" && Number.isFinite(v)) return `n:${v === 0 ? 0 : v}`;
  if (typeof v === "boolean") return `n:${v ? 1 : 0}`;
  throw new FormatError(`${where}: a question id must be a string or a number, found ${describe(v)}`);
}

/** Shows a key made by idKey the way a user wrote it. */
export function showKey(key: string): string {
  if (key.startsWith("s:")) return JSON.stringify(key.slice(2));
  if (key.startsWith("n:")) return key.slice(2);
  return key;
}

/**
 * The keys of a JSON document's top-level object in the order the file lists them (first occurrence of a
 * repeated key). `JSON.parse` moves integer-like keys first in numeric order, while Python keeps file order,
 * which decides the order of floating-point sums.
 */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (!seen.has(key)) {
          seen.add(key);
          keys.push(key);
        }
        expectKey = false;
      }
      i = j;
    } else if (c === "{" || c === "[") {
      depth++;
      if (depth === 1) expectKey = c === "{";
    } else if (c === "}" || c === "]") depth--;
    else if (c === "," && depth === 1) expectKey = true;
  }
  return keys;
}
