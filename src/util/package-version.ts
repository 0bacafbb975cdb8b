/** The version of the imp-ts package (package.json), for `imp --version`, `imp info` and the server's /api/version. */
import { readFileSync } from "node:fs";

export function packageVersion(): string {
  // Two folders up from src/util/ (or dist/util/ once compiled) is the package root.
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}
