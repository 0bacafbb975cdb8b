/**
 * `--help` for the measuring scripts: their header comment already says what they do, their usage and options,
 * so that is what is printed (one text to keep true, not two).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Prints the calling script's header comment and exits when --help or -h is among the arguments. */
export function helpFromHeader(scriptUrl: string): void {
  const args = process.argv.slice(2);
  if (!args.includes("--help") && !args.includes("-h")) return;
  const head = /^\s*\/\*\*([\s\S]*?)\*\//.exec(readFileSync(fileURLToPath(scriptUrl), "utf8"));
  const text = (head?.[1] ?? "")
    .split("\n")
    .map((line) => line.replace(/^\s*\* ?/, ""))
    .join("\n")
    .trim();
  console.log(text);
  process.exit(0);
}
