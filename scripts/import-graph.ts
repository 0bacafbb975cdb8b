// The import graph of the TypeScript sources under a folder: for each file, the files it imports (relative
// specifiers only; packages and node: builtins are left out), each marked as a run-time or a type-only import.
// Used by test/layers.test.ts to hold the layer order of docs/design and to keep import cycles out.
//
// TypeScript 7 ships no compiler API to ask, so the files are read with a small lexer: comments are dropped
// (strings, template literals and regular expressions are skipped over whole, so a "//" or an "import" inside
// one is never taken for code), then the import and export-from statements are matched on what is left.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

export interface ImportEdge {
  /** The imported file, relative to the root, with `/` separators. */
  to: string;
  /**
   * "type": erased at compile time (`import type`, `export type … from`, `import("…").T` in a type position);
   * "static": an import or export-from statement that runs at load; "dynamic": an `import()` call.
   */
  kind: "type" | "static" | "dynamic";
}

/** Every file under `dir` (relative to `root`, `/`-separated) whose name ends in `.ts`. */
export function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".ts") && !name.endsWith(".d.ts"))
        out.push(relative(root, p).split(sep).join("/"));
    }
  };
  walk(join(root, dir));
  return out;
}

const REGEX_BEFORE = new Set([
  "(",
  ",",
  "=",
  ":",
  "[",
  "!",
  "&",
  "|",
  "?",
  "{",
  "}",
  ";",
  "+",
  "-",
  "*",
  "%",
  "<",
  ">",
  "~",
  "^",
]);
const REGEX_AFTER_WORDS =
  /(?:^|[^\w$.])(?:return|typeof|case|do|else|in|of|new|delete|void|throw|yield|await)$/;

/** The source with comments replaced by spaces (line breaks kept); strings, templates and regexes kept as written. */
export function stripComments(src: string): string {
  let out = "";
  let i = 0;
  // Open `${` of template literals: each entry is the brace depth inside that substitution.
  const templates: number[] = [];
  let lastSignificant = "";
  const copyUntil = (end: number): void => {
    out += src.slice(i, end);
    i = end;
  };
  const skipQuoted = (quote: string): void => {
    let j = i + 1;
    while (j < src.length && src[j] !== quote && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
    copyUntil(Math.min(j + 1, src.length));
  };
  /** From just after a backtick (or a closing `}` of a substitution) to the closing backtick or the next `${`. */
  const skipTemplatePart = (): void => {
    let j = i;
    while (j < src.length) {
      if (src[j] === "\\") j += 2;
      else if (src[j] === "`") {
        copyUntil(j + 1);
        return;
      } else if (src[j] === "$" && src[j + 1] === "{") {
        copyUntil(j + 2);
        templates.push(0);
        return;
      } else j++;
    }
    copyUntil(src.length);
  };
  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === "/" && next === "/") {
      const end = src.indexOf("\n", i);
      const stop = end < 0 ? src.length : end;
      out += " ".repeat(stop - i);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === "'" || c === '"') {
      skipQuoted(c);
      lastSignificant = c;
    } else if (c === "`") {
      copyUntil(i + 1);
      skipTemplatePart();
      lastSignificant = "`";
    } else if (
      c === "/" &&
      (REGEX_BEFORE.has(lastSignificant) || lastSignificant === "" || REGEX_AFTER_WORDS.test(out.trimEnd()))
    ) {
      // A regular expression literal: up to the closing slash outside a character class.
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== "\n") {
        if (src[j] === "\\") j++;
        else if (src[j] === "[") inClass = true;
        else if (src[j] === "]") inClass = false;
        else if (src[j] === "/" && !inClass) break;
        j++;
      }
      copyUntil(Math.min(j + 1, src.length));
      lastSignificant = "/regex";
    } else {
      if (templates.length > 0) {
        if (c === "{") templates[templates.length - 1]!++;
        else if (c === "}") {
          if (templates[templates.length - 1] === 0) {
            templates.pop();
            copyUntil(i + 1);
            skipTemplatePart();
            lastSignificant = "`";
            continue;
          }
          templates[templates.length - 1]!--;
        }
      }
      if (!/\s/.test(c)) lastSignificant = /[\w$]/.test(c) ? "word" : c;
      copyUntil(i + 1);
    }
  }
  return out;
}

const SPEC = String.raw`(["'])([^"'\n]+)\1`;
const PATTERNS: Array<{ re: RegExp; kind: (m: RegExpExecArray) => ImportEdge["kind"] }> = [
  // import type X from "…"; import type { X } from "…"
  { re: new RegExp(String.raw`\bimport\s+type\b[^;]*?\bfrom\s*${SPEC}`, "g"), kind: () => "type" },
  // export type { X } from "…"; export type * from "…"
  { re: new RegExp(String.raw`\bexport\s+type\b[^;]*?\bfrom\s*${SPEC}`, "g"), kind: () => "type" },
  // import X, { Y } from "…" (a `{ type Y }` list still loads the module under verbatimModuleSyntax)
  {
    re: new RegExp(String.raw`\bimport\s+(?!type\b)[\w$*{][^;"'()]*?\bfrom\s*${SPEC}`, "g"),
    kind: () => "static",
  },
  // export { X } from "…"; export * from "…"; export * as ns from "…"
  {
    re: new RegExp(String.raw`\bexport\s+(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\})\s*from\s*${SPEC}`, "g"),
    kind: () => "static",
  },
  // import "…" (for its effects)
  { re: new RegExp(String.raw`\bimport\s*${SPEC}`, "g"), kind: () => "static" },
  // import("…"): a type when a member other than .then is read off it at once, else a dynamic import
  {
    re: new RegExp(String.raw`\bimport\s*\(\s*${SPEC}\s*\)(\s*\.\s*[\w$]+)?`, "g"),
    kind: (m) => (m[3] && !/\.\s*then$/.test(m[3]) ? "type" : "dynamic"),
  },
];

/** The relative imports of one file (`file` relative to `root`), resolved to files relative to `root`. */
export function importsOf(root: string, file: string): ImportEdge[] {
  const code = stripComments(readFileSync(join(root, file), "utf8"));
  const edges: ImportEdge[] = [];
  for (const { re, kind } of PATTERNS) {
    for (const m of code.matchAll(re)) {
      const spec = m[2]!;
      if (!spec.startsWith("./") && !spec.startsWith("../")) continue;
      const target = resolve(root, dirname(file), spec.replace(/\.js$/, ".ts"));
      edges.push({ to: relative(root, target).split(sep).join("/"), kind: kind(m as RegExpExecArray) });
    }
  }
  return edges;
}

/** Strongly connected components of more than one file (or a file importing itself): the import cycles. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  // Tarjan's algorithm, iteratively (a deep import chain must not overflow the call stack).
  for (const start of graph.keys()) {
    if (idx.has(start)) continue;
    const work: Array<{ v: string; next: number }> = [{ v: start, next: 0 }];
    idx.set(start, index);
    low.set(start, index++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const succ = graph.get(top.v) ?? [];
      if (top.next < succ.length) {
        const w = succ[top.next++]!;
        if (!idx.has(w)) {
          idx.set(w, index);
          low.set(w, index++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, next: 0 });
        } else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v)!, idx.get(w)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.v;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.v)!));
      }
      if (low.get(top.v) === idx.get(top.v)) {
        const scc: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          scc.push(w);
        } while (w !== top.v);
        if (scc.length > 1 || succ.includes(top.v)) found.push(scc.sort());
      }
    }
  }
  return found;
}
