/**
 * The served model's files, for the web page's in-tab engine (src/browser/engine-worker.ts), which loads the
 * same checkpoint in the browser: GET /model/files lists them (name, bytes), GET /model/NAME sends one. Only the
 * files a loader reads (config, weights, tokenizer, processor config) at the top of the model's folder are
 * listed and served, and those of the tower folder config.json names inside it (Imp-v1.5-3B-196's SigLIP folder:
 * its config and processor config; LLaVA's CLIP folder: its weights too) as "FOLDER/NAME", so no request path
 * reaches anything else on disk.
 */
import { createReadStream, readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { Readable } from "node:stream";
import { readModelConfig } from "../models/load.js";

const LOADED =
  /^(config\.json|generation_config\.json|preprocessor_config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|added_tokens\.json|vocab\.json|merges\.txt|[A-Za-z0-9._-]+\.safetensors|[A-Za-z0-9._-]+\.safetensors\.index\.json)$/;

export interface ModelFile {
  name: string;
  bytes: number;
}

/** The tower's own files: its configs, and its weights when they are read from there. */
const TOWER_CONFIGS = /^(config\.json|preprocessor_config\.json)$/;
const TOWER_WEIGHTS = /^([A-Za-z0-9._-]+\.safetensors|[A-Za-z0-9._-]+\.safetensors\.index\.json)$/;

/** The files of `dir` (inside `folder`) whose names `keep` accepts, as "prefix + name" (links followed). */
function filesIn(folder: string, prefix: string, keep: (name: string) => boolean): ModelFile[] {
  const out: ModelFile[] = [];
  for (const name of readdirSync(join(folder, prefix)).sort()) {
    if (!keep(name)) continue;
    // A dangling link (or one to a folder) is not a file the loader could read: left out, not a 500.
    const stat = statSync(join(folder, prefix, name), { throwIfNoEntry: false });
    if (stat?.isFile()) out.push({ name: prefix + name, bytes: stat.size });
  }
  return out;
}

/** The tower folder config.json names, when it is a folder right inside `folder`: its name and whether to send weights. */
function towerInside(folder: string): { dir: string; weights: boolean } | null {
  let r: ReturnType<typeof readModelConfig>;
  try {
    r = readModelConfig(folder);
  } catch {
    return null; // the loader says what is wrong when it loads; the list stays what can be read
  }
  if (!r.towerFolder) return null;
  const dir = relative(resolve(folder), resolve(r.towerFolder));
  return /^[A-Za-z0-9._-]+$/.test(dir) && dir !== ".." ? { dir, weights: r.visionFolder !== null } : null;
}

/** The loader's files of `folder`, by name (links followed, as the loader follows them). */
export function modelFiles(folder: string): ModelFile[] {
  const out = filesIn(folder, "", (name) => LOADED.test(name));
  const tower = towerInside(folder);
  if (tower)
    out.push(
      ...filesIn(
        folder,
        `${tower.dir}/`,
        (name) => TOWER_CONFIGS.test(name) || (tower.weights && TOWER_WEIGHTS.test(name)),
      ),
    );
  return out;
}

/** A listed file as a streamed response body, or null when `name` is not one of them. */
export function modelFileBody(folder: string, name: string): { body: ReadableStream; bytes: number } | null {
  if (name.includes("/") ? !modelFiles(folder).some((f) => f.name === name) : !LOADED.test(name)) return null;
  const file = join(folder, name);
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile()) return null;
  return { body: Readable.toWeb(createReadStream(file)) as ReadableStream, bytes: stat.size };
}
