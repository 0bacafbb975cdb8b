/** Replaces (or appends) one `## Title` section of a markdown file, leaving the other sections as they are. */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

export function replaceSection(file: string, title: string, body: string): void {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const head = `## ${title}`;
  const start = text.indexOf(`${head}\n`);
  let next: string;
  if (start < 0) next = `${text.trimEnd()}\n\n${head}\n\n${body}\n`;
  else {
    const after = text.indexOf("\n## ", start + head.length);
    next = `${text.slice(0, start)}${head}\n\n${body}\n${after < 0 ? "" : text.slice(after)}`;
  }
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, next);
  renameSync(tmp, file);
}
