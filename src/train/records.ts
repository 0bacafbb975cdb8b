/**
 * LLaVA-format training records (the format of LLaVA-Pretrain 558K and llava_v1_5_mix665k, read by LLaVA's and
 * Imp's train.py): a JSON array, or JSON Lines, of
 *   {"id": ..., "image": "coco/train2017/x.jpg"?, "conversations": [{"from": "human"|"gpt", "value": "..."}]}
 * with "<image>" in the first human turn when there is an image. One optional field of our own, `named_boxes`
 * (the regions of the image that the first question names, for the dense image-token signal: image-token-labels.ts),
 * is ignored by the official loaders. Records are checked as they are read; a bad one
 * (malformed line, wrong shape, no assistant turn, image missing from the image folder) is reported with its file
 * and line, never silently trained on.
 */
import { readFileSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { IMAGE_TOKEN as IMAGE } from "../io/tokenizer/index.js";
import { FormatError } from "../util/errors.js";

export interface Turn {
  from: "human" | "gpt" | "system";
  value: string;
}

export interface DataRecord {
  id: string;
  /** Absolute or working-directory-relative path of the image, resolved against the image folder. */
  image: string | null;
  conversations: Turn[];
  /**
   * `named_boxes`: [x0, y0, x1, y1] boxes, as fractions of the image's width and height, of what the first
   * question names (the shape whose colour it asks, every object it counts); [] when it names nothing present.
   * Absent when the record does not say.
   */
  namedBoxes?: NamedBox[];
  /** Where it came from, for messages: "file:line". */
  where: string;
}

/** [x0, y0, x1, y1], fractions of the image's width and height, x0 < x1 and y0 < y1. */
export type NamedBox = readonly [number, number, number, number];

export interface BadRecord {
  where: string;
  id: string | null;
  reason: string;
}

export interface ReadResult {
  records: DataRecord[];
  bad: BadRecord[];
}

/** Reads and checks every record of a .json (array) or .jsonl file; images are looked up in `imageFolder`. */
export function readRecords(file: string, imageFolder: string): ReadResult {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new FormatError(`cannot read the data file ${file}: ${(e as Error).message}`, { cause: e });
  }
  const items = extname(file).toLowerCase() === ".jsonl" ? splitLines(text) : splitJsonArray(text, file);
  const out: ReadResult = { records: [], bad: [] };
  for (const { line, text: item } of items) {
    const where = `${file}:${line}`;
    let v: unknown;
    try {
      v = JSON.parse(item);
    } catch (e) {
      out.bad.push({ where, id: null, reason: `malformed JSON (${(e as Error).message})` });
      continue;
    }
    const r = checkRecord(v, where, imageFolder, `${basename(file)}:${line}`);
    if ("reason" in r) out.bad.push(r);
    else out.records.push(r);
  }
  return out;
}

/** One record's checks; returns the record or what is wrong with it. */
export function checkRecord(
  v: unknown,
  where: string,
  imageFolder: string,
  fallbackId: string,
): DataRecord | BadRecord {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return { where, id: null, reason: "not a JSON object" };
  const o = v as Record<string, unknown>;
  const id = typeof o.id === "string" || typeof o.id === "number" ? String(o.id) : null;
  const fail = (reason: string): BadRecord => ({ where, id, reason });
  if (!Array.isArray(o.conversations)) return fail('no "conversations" list');
  const turns: Turn[] = [];
  for (const [i, t] of (o.conversations as unknown[]).entries()) {
    const turn = t as Record<string, unknown> | null;
    if (typeof turn !== "object" || turn === null || typeof turn.value !== "string")
      return fail(`conversations[${i}] is not {"from": ..., "value": "text"}`);
    if (turn.from !== "human" && turn.from !== "gpt" && turn.from !== "system")
      return fail(`conversations[${i}].from is ${JSON.stringify(turn.from)}; expected "human" or "gpt"`);
    turns.push({ from: turn.from, value: turn.value });
  }
  if (!turns.some((t) => t.from === "gpt")) return fail('no assistant ("gpt") turn to train on');
  if (!turns.some((t) => t.from === "human")) return fail('no "human" turn');
  const tokens = turns.reduce((n, t) => n + t.value.split(IMAGE).length - 1, 0);
  let image: string | null = null;
  if (o.image !== undefined && o.image !== null) {
    if (typeof o.image !== "string" || o.image === "")
      return fail(
        `"image" is ${JSON.stringify(o.image)}; expected one file name (several images are not supported)`,
      );
    image = join(imageFolder, o.image);
    if (!isFile(image)) return fail(`image ${image} not found (image folder ${imageFolder})`);
    if (tokens > 1) return fail(`${tokens} "<image>" placeholders for one image`);
  } else if (tokens > 0) return fail('"<image>" in the text but no "image" field');
  const rec: DataRecord = { id: id ?? fallbackId, image, conversations: turns, where };
  if (o.named_boxes !== undefined) {
    if (image === null) return fail('"named_boxes" on a record without an image');
    const boxes = checkBoxes(o.named_boxes);
    if (typeof boxes === "string") return fail(boxes);
    rec.namedBoxes = boxes;
  }
  return rec;
}

/** The boxes of `named_boxes`, or what is wrong with them. */
function checkBoxes(v: unknown): NamedBox[] | string {
  if (!Array.isArray(v)) return `"named_boxes" is ${JSON.stringify(v)}; expected a list of [x0, y0, x1, y1]`;
  const out: NamedBox[] = [];
  for (const [i, b] of v.entries()) {
    const ok =
      Array.isArray(b) &&
      b.length === 4 &&
      b.every((x) => typeof x === "number" && x >= 0 && x <= 1) &&
      b[0] < b[2] &&
      b[1] < b[3];
    if (!ok)
      return `named_boxes[${i}] is ${JSON.stringify(b)}; expected [x0, y0, x1, y1] with 0 ≤ x0 < x1 ≤ 1 and 0 ≤ y0 < y1 ≤ 1 (fractions of the image)`;
    out.push(b as unknown as NamedBox);
  }
  return out;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

interface Item {
  line: number;
  text: string;
}

function splitLines(text: string): Item[] {
  const out: Item[] = [];
  text.split("\n").forEach((l, i) => {
    if (l.trim() !== "") out.push({ line: i + 1, text: l });
  });
  return out;
}

/**
 * The elements of a top-level JSON array, each with the line it starts on, found by scanning brackets and strings
 * (so a malformed element is reported at its own line, and the rest are still read).
 */
export function splitJsonArray(text: string, file: string): Item[] {
  let i = 0;
  let line = 1;
  const n = text.length;
  const skipSpace = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 10) line++;
      else if (c !== 32 && c !== 9 && c !== 13 && c !== 0xfeff) break;
      i++;
    }
  };
  skipSpace();
  if (text[i] !== "[")
    throw new FormatError(
      `${file}:${line}: expected a JSON array of records ("[" ...), or use a .jsonl file`,
    );
  i++;
  const out: Item[] = [];
  for (;;) {
    skipSpace();
    if (i >= n) throw new FormatError(`${file}:${line}: the array is not closed (missing "]")`);
    if (text[i] === "]") break;
    const start = i;
    const startLine = line;
    let depth = 0;
    let inString = false;
    // Scan one element: up to the comma or bracket that closes it at depth 0.
    for (; i < n; i++) {
      const c = text[i]!;
      if (c === "\n") line++;
      if (inString) {
        if (c === "\\") i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        if (depth === 0) break;
        depth--;
      } else if (c === "," && depth === 0) break;
    }
    out.push({ line: startLine, text: text.slice(start, i) });
    if (text[i] === ",") i++;
  }
  return out;
}
