/** Repos for the test Hub: the shared fixture checkpoints, with a tokenizer and files a pull must leave alone. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { fixture } from "./fixtures.js";
import type { ServedRepo } from "./hub-server.js";
import { writeTinyTokenizer } from "./tiny-tokenizer.js";

function readTree(dir: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p).split(sep).join("/")] = new Uint8Array(readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/**
 * A fixture folder as a Hub repo: its files (golden.safetensors included, which a pull must skip), a tiny
 * tokenizer for the model type, and a README and a PyTorch copy of the weights that a pull must not fetch.
 */
export function fixtureRepo(id: string, fixtureName: string, opts: { gated?: boolean } = {}): ServedRepo {
  const files = readTree(fixture(fixtureName));
  const modelType = JSON.parse(new TextDecoder().decode(files["config.json"])).model_type as string;
  const tmp = mkdtempSync(join(tmpdir(), "imp-tok-"));
  try {
    writeTinyTokenizer(tmp, modelType);
    Object.assign(files, readTree(tmp));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  files["README.md"] = new TextEncoder().encode(`# ${id}\n`);
  files["pytorch_model.bin"] = new Uint8Array(4096).fill(7);
  return { id, files, gated: opts.gated };
}

/**
 * A model folder written by a test (e.g. testing/imp-196-checkpoint.ts, its tokenizer included) as a Hub repo, with
 * a README and a PyTorch copy of the weights that a pull must not fetch.
 */
export function folderRepo(id: string, dir: string): ServedRepo {
  const files = readTree(dir);
  files["README.md"] = new TextEncoder().encode(`# ${id}\n`);
  files["pytorch_model.bin"] = new Uint8Array(4096).fill(7);
  return { id, files };
}

/** Replaces config.json keys of a repo (a text-only LLM, a tower in another repo). */
export function withConfig(repo: ServedRepo, id: string, patch: Record<string, unknown>): ServedRepo {
  const config = JSON.parse(new TextDecoder().decode(repo.files["config.json"])) as Record<string, unknown>;
  const merged = { ...config, ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete merged[k];
  return {
    ...repo,
    id,
    files: { ...repo.files, "config.json": new TextEncoder().encode(JSON.stringify(merged, null, 2)) },
  };
}
