/**
 * Hub model ids ("org/name"): which strings name a repository rather than a local folder. The rules are the Hub's
 * (huggingface_hub `validate_repo_id`): one slash, letters, digits, "-", "_", "." and no "--" or ".." inside,
 * at most 96 characters.
 */
import { existsSync } from "node:fs";
import { UsageError } from "../util/errors.js";

const PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** True when `s` is shaped like a Hub model id (whether or not a folder of that name exists). */
export function isRepoIdShape(s: string): boolean {
  const parts = s.split("/");
  if (parts.length !== 2 || s.length > 96) return false;
  return parts.every((p) => PART.test(p) && !p.includes("--") && !p.includes("..") && !p.endsWith("."));
}

/** A model source is a Hub id when no local path of that name exists and it has the shape of one. */
export function isHubModelId(source: string): boolean {
  return !existsSync(source) && isRepoIdShape(source);
}

/** Checks a Hub id given by the user, naming what is wrong. */
export function checkRepoId(id: string, what = "model id"): string {
  if (!isRepoIdShape(id))
    throw new UsageError(
      `"${id}" is not a Hugging Face Hub ${what}: expected "org/name" (letters, digits, "-", "_", ".")`,
    );
  return id;
}
