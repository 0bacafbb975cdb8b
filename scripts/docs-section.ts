/**
 * Replaces one `## Title` section of a markdown file, leaving the other sections as they are. A section not yet
 * there goes before the section `before` names when that one exists, else at the end.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

export function replaceSection(file: string, title: string, body: string, before?: string): void {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const head = `## ${title}`;
  const start = text.indexOf(`${head}\n`);
  let next: string;
  const at = before === undefined ? -1 : text.indexOf(`\n## ${before}\n`);
  if (start < 0 && at >= 0) next = `${text.slice(0, at + 1)}${head}\n\n${body}\n\n${text.slice(at + 1)}`;
  else if (start < 0) next = `${text.trimEnd()}\n\n${head}\n\n${body}\n`;
  else {
    const after = text.indexOf("\n## ", start + head.length);
    next = `${text.slice(0, start)}${head}\n\n${body}\n${after < 0 ? "" : text.slice(after)}`;
  }
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, next);
  renameSync(tmp, file);
}
