/**
 * TEST-ONLY: the tiny-imp-qwen2 fixture as a model folder that answers in text: the checkpoint copied to `dir`, a
 * tiny byte-level tokenizer beside it (fixtures ship none), and `config` laid over its config.json (e.g. a longer
 * context: the byte-level vocabulary spends a token per character of the system prompt).
 */
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixture } from "./fixtures.js";
import { writeTinyTokenizer } from "./tiny-tokenizer.js";

export function writeTinyModel(dir: string, config: Record<string, unknown> = {}): string {
  cpSync(fixture("tiny-imp-qwen2"), dir, { recursive: true });
  writeTinyTokenizer(dir, "imp_qwen2");
  if (Object.keys(config).length > 0) {
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), ...config }));
  }
  return dir;
}
