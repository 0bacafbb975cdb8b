/**
 * The few Python built-ins whose exact behaviour the official scoring scripts depend on, reimplemented so
 * that a TypeScript scorer gives the same number on any input: `round`, `str.split()`/`strip()` whitespace,
 * `str.lower()` (Python 2 and 3 differ), `repr(float)` and universal-newline `readlines()`.
 *
 * The official VQA evaluator runs under Python 2.7 (`print "..."` statements); the LLaVA, GQA, MME and MMBench
 * scripts under Python 3. Where the two differ the caller passes `py2`.
 */

/** Characters Python 3 `str.isspace()` accepts: what `split()`/`strip()` with no argument remove. */
const PY3_SPACE =
  "\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
/** Python 2.7 ships Unicode 5.2, where U+180E (Mongolian vowel separator) was still a space separator. */
const PY2_SPACE = `${PY3_SPACE}\u180e`;

function spaceSet(py2: boolean): string {
  return py2 ? PY2_SPACE : PY3_SPACE;
}

/** Python `s.split()` with no separator: runs of whitespace split, leading/trailing ignored. */
export function pySplit(s: string, py2 = false): string[] {
  const space = spaceSet(py2);
  const out: string[] = [];
  let cur = "";
  for (const ch of s) {
    if (space.includes(ch)) {
      if (cur) out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

/** Python `s.strip()` (no argument): whitespace by Python's definition, not JavaScript's. */
export function pyStrip(s: string, py2 = false): string {
  const space = spaceSet(py2);
  const cps = Array.from(s);
  let a = 0;
  let b = cps.length;
  while (a < b && space.includes(cps[a]!)) a++;
  while (b > a && space.includes(cps[b - 1]!)) b--;
  return cps.slice(a, b).join("");
}

/** Python `s.rstrip(chars)`: removes any trailing characters found in `chars`. */
export function pyRstrip(s: string, chars: string): string {
  const cps = Array.from(s);
  let b = cps.length;
  while (b > 0 && chars.includes(cps[b - 1]!)) b--;
  return cps.slice(0, b).join("");
}

/**
 * Python `s.lower()`. Python 3 uses full Unicode case mappings with the final-sigma rule, as JavaScript does.
 * Python 2 `unicode.lower()` maps each code point on its own with the simple mapping: U+0130 becomes "i"
 * (not "i̇") and capital sigma is always "σ".
 */
export function pyLower(s: string, py2 = false): string {
  if (!py2) return s.toLowerCase();
  let out = "";
  for (const ch of s) {
    if (ch === "\u0130") out += "i";
    else if (ch === "\u03a3") out += "\u03c3";
    else out += ch.toLowerCase();
  }
  return out;
}

/** Python `len(s)`: code points, not UTF-16 units. */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Splits a double into sign, integer mantissa and binary exponent: |x| = mant * 2^exp exactly. */
function decompose(x: number): { neg: boolean; mant: bigint; exp: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const neg = hi >>> 31 === 1;
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (biased === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  return { neg, mant, exp };
}

/**
 * Python `round(x, ndigits)` for ndigits >= 0. Both Pythons round the exact binary value of x (so 2.675 -> 2.67,
 * because the double is 2.67499...); they differ only on exact ties: Python 3 rounds half to even, Python 2.7
 * half away from zero. The result is the double nearest the rounded decimal, as Python returns.
 */
export function pyRound(x: number, ndigits: number, ties: "even" | "away" = "even"): number {
  if (!Number.isFinite(x) || x === 0) return x;
  if (!Number.isInteger(ndigits) || ndigits < 0)
    throw new RangeError(`pyRound: ndigits must be >= 0, got ${ndigits}`);
  const { neg, mant, exp } = decompose(x);
  const scale = 10n ** BigInt(ndigits);
  let num = mant * scale;
  let den = 1n;
  if (exp >= 0) num <<= BigInt(exp);
  else den <<= BigInt(-exp);
  let q = num / den;
  const twiceRem = 2n * (num - q * den);
  if (twiceRem > den) q += 1n;
  else if (twiceRem === den) {
    if (ties === "away" || q % 2n === 1n) q += 1n;
  }
  const r = Number(`${q}e-${ndigits}`);
  return neg ? -r : r;
}

/**
 * Python `repr(float)` / `str(float)`: the shortest round-tripping digits (as JavaScript), but fixed notation
 * only for decimal exponents -4..15, a trailing ".0" on integral values, and exponents written "e-05"/"e+16".
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Number.POSITIVE_INFINITY) return "inf";
  if (x === Number.NEGATIVE_INFINITY) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  const [mantissa, expStr] = Math.abs(x).toExponential().split("e") as [string, string];
  const exp = Number(expStr);
  const digits = mantissa.replace(".", "");
  if (exp >= -4 && exp < 16) {
    let s: string;
    if (exp < 0) s = `0.${"0".repeat(-exp - 1)}${digits}`;
    else if (digits.length <= exp + 1) s = `${digits}${"0".repeat(exp + 1 - digits.length)}.0`;
    else s = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    return sign + s;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp).toString().padStart(2, "0");
  return `${sign}${m}e${exp < 0 ? "-" : "+"}${e}`;
}

/**
 * Python 3 text-mode `readlines()`: universal newlines turn "\r\n" and a lone "\r" into "\n", and each line
 * keeps its "\n" (the last one may lack it). An empty file has no lines.
 */
export function pyReadLines(text: string): string[] {
  const norm = text.replace(/\r\n?/g, "\n");
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < norm.length; i++) {
    if (norm[i] === "\n") {
      lines.push(norm.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < norm.length) lines.push(norm.slice(start));
  return lines;
}

/** Python `a / b` on numbers, returning null where Python raises ZeroDivisionError. */
export function pyDiv(a: number, b: number): number | null {
  return b === 0 ? null : a / b;
}

/** Python truthiness of a JSON value (empty arrays and objects are false, unlike JavaScript). */
export function pyTruthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v !== null && typeof v === "object") return Object.keys(v).length > 0;
  return Boolean(v);
}

/**
 * Python `json.dumps(value)` with its defaults: ", " and ": " separators and every non-ASCII character escaped
 * as \uXXXX (ensure_ascii), so answer files read byte for byte like the ones LLaVA writes.
 */
export function pyJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (Number.isInteger(value) && Math.abs(value) < 1e16) return String(value);
    if (Number.isNaN(value)) return "NaN";
    if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
    return pyFloatRepr(value);
  }
  if (typeof value === "string") {
    let out = '"';
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      const ch = value[i]!;
      if (ch === '"') out += '\\"';
      else if (ch === "\\") out += "\\\\";
      else if (ch === "\n") out += "\\n";
      else if (ch === "\r") out += "\\r";
      else if (ch === "\t") out += "\\t";
      else if (ch === "\b") out += "\\b";
      else if (ch === "\f") out += "\\f";
      else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, "0")}`;
      else out += ch;
    }
    return `${out}"`;
  }
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${pyJsonDumps(k)}: ${pyJsonDumps(v)}`).join(", ")}}`;
  }
  throw new TypeError(`pyJsonDumps: cannot serialise ${typeof value}`);
}
