/**
 * Where the shared golden fixtures live (outputs of the official PyTorch code; see their README).
 * Looked up in order: $IMP_FIXTURES, ../shared/fixtures beside the repository, shared/fixtures inside it,
 * /work/shared/fixtures. Tests fail (they do not skip) when none exists: the fixtures are part of the suite.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));

export function fixturesDir(): string {
  const candidates = [
    process.env.IMP_FIXTURES,
    join(repoRoot, "..", "shared", "fixtures"),
    join(repoRoot, "shared", "fixtures"),
    "/work/shared/fixtures",
  ].filter((p): p is string => !!p);
  for (const c of candidates) if (existsSync(join(c, "README.md"))) return c;
  throw new Error(
    `golden fixtures not found; looked in: ${candidates.join(", ")}. Set IMP_FIXTURES to the fixtures folder.`,
  );
}

export function fixture(...parts: string[]): string {
  return join(fixturesDir(), ...parts);
}
