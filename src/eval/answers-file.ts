/**
 * The answers file (LLaVA's answers.jsonl): append-only while a run is going, so a crash or kill loses at most
 * the line being written; a torn last line is cut off when the run resumes, and questions already answered are
 * skipped. Lines are matched to questions by (question id, prompt); identical questions by count.
 */
import { closeSync, existsSync, openSync, readFileSync, truncateSync, writeSync } from "node:fs";
import { writeAtomic } from "../util/atomic-file.js";
import { FormatError } from "../util/errors.js";
import { at, expectObject, expectString, field } from "./files.js";
import { answerKey } from "./tasks.js";

export interface AnswerLine {
  key: string;
  /** The line as written (without its newline). */
  raw: string;
}

/**
 * Reads an answers file. A last line without its newline is a write cut short; it is dropped (and, with
 * `repair`, cut from the file) so that its question is asked again.
 */
export function readAnswerLines(path: string, repair = false): AnswerLine[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  let body = text;
  if (!text.endsWith("\n") && text.length > 0) {
    body = text.slice(0, text.lastIndexOf("\n") + 1);
    if (repair) truncateSync(path, Buffer.byteLength(body));
  }
  const out: AnswerLine[] = [];
  body.split("\n").forEach((raw, i) => {
    if (raw.trim() === "") return;
    const where = at(path, i + 1);
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (err) {
      throw new FormatError(`${where}: invalid JSON line in the answers file (${(err as Error).message})`, {
        cause: err,
      });
    }
    const o = expectObject(v, where);
    const key = answerKey(
      field(o, "question_id", where),
      expectString(field(o, "prompt", where), `${where}.prompt`),
      where,
    );
    out.push({ key, raw });
  });
  return out;
}

/** Counts of lines per key. */
export function keyCounts(lines: AnswerLine[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) m.set(l.key, (m.get(l.key) ?? 0) + 1);
  return m;
}

/**
 * Splits `keys` (questions in order) into answered and unanswered given the lines there are: each line answers
 * one question with its key, earliest first. Also returns lines matching no question.
 */
export function matchAnswers(
  keys: string[],
  lines: AnswerLine[],
): { answered: boolean[]; unmatched: AnswerLine[] } {
  const pool = keyCounts(lines);
  const answered = keys.map((k) => {
    const n = pool.get(k) ?? 0;
    if (n > 0) pool.set(k, n - 1);
    return n > 0;
  });
  const left = new Map(pool);
  const unmatched: AnswerLine[] = [];
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    const n = left.get(l.key) ?? 0;
    if (n > 0) {
      unmatched.unshift(l);
      left.set(l.key, n - 1);
    }
  }
  return { answered, unmatched };
}

/** Appends lines to the answers file in task order, however the answers arrive. */
export class OrderedAppender {
  private readonly fd: number;
  private readonly pending = new Map<number, string>();
  private next = 0;

  /** `slots` are the task positions to be written, in the order they must appear. */
  constructor(
    path: string,
    private readonly slots: number[],
  ) {
    this.fd = openSync(path, "a");
  }

  /** Records the answer line for task position `slot`; writes every line that is now next in order. */
  put(slot: number, line: string): void {
    this.pending.set(slot, line);
    while (this.next < this.slots.length && this.pending.has(this.slots[this.next]!)) {
      const s = this.slots[this.next]!;
      writeSync(this.fd, `${this.pending.get(s)!}\n`);
      this.pending.delete(s);
      this.next++;
    }
  }

  /** Lines written so far by this appender. */
  get written(): number {
    return this.next;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** True when the lines answer the questions `keys` in their order, each at most once. */
export function isInOrder(keys: string[], lines: AnswerLine[]): boolean {
  let i = 0;
  for (const l of lines) {
    while (i < keys.length && keys[i] !== l.key) i++;
    if (i >= keys.length) return false;
    i++;
  }
  return true;
}

/**
 * Writes the lines that answer `keys`, in the questions' order, atomically to `path` (one line per question;
 * lines matching no question or repeating one are dropped and counted). POPE pairs answers with labels by
 * position and MME pairs consecutive lines, so the order matters.
 */
export function writeInOrder(
  path: string,
  keys: string[],
  lines: AnswerLine[],
): { written: number; dropped: number } {
  const queues = new Map<string, string[]>();
  for (const l of lines) {
    if (!queues.has(l.key)) queues.set(l.key, []);
    queues.get(l.key)!.push(l.raw);
  }
  const out: string[] = [];
  for (const k of keys) {
    const raw = queues.get(k)?.shift();
    if (raw !== undefined) out.push(raw);
  }
  writeAtomic(path, out.length ? `${out.join("\n")}\n` : "");
  return { written: out.length, dropped: lines.length - out.length };
}
