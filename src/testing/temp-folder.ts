/** Temporary folders of benchmark files for the eval tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A fresh temporary folder; `files` maps relative paths to contents (objects become JSON). */
export function tempFolder(files: Record<string, unknown> = {}): {
  dir: string;
  write(f: Record<string, unknown>): void;
  remove(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), "imp-eval-test-"));
  const write = (f: Record<string, unknown>) => {
    for (const [rel, content] of Object.entries(f)) {
      const p = join(dir, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(
        p,
        typeof content === "string" || content instanceof Uint8Array ? content : JSON.stringify(content),
      );
    }
  };
  write(files);
  return { dir, write, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** JSON lines text from objects. */
export function jsonl(rows: unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : "");
}
