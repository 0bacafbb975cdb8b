/**
 * The served model's files, for the web page's in-tab engine (src/browser/engine-worker.ts), which loads the
 * same checkpoint in the browser: GET /model/files lists them (name, bytes), GET /model/NAME sends one. Only the
 * files a loader reads (config, weights, tokenizer, processor config) at the top of the model's folder are
 * listed and served, so no request path reaches anything else on disk.
 */
import { createReadStream, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";

const LOADED =
  /^(config\.json|generation_config\.json|preprocessor_config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|added_tokens\.json|vocab\.json|merges\.txt|[A-Za-z0-9._-]+\.safetensors|[A-Za-z0-9._-]+\.safetensors\.index\.json)$/;

export interface ModelFile {
  name: string;
  bytes: number;
}

/** The loader's files at the top of `folder`, by name (links followed, as the loader follows them). */
export function modelFiles(folder: string): ModelFile[] {
  const out: ModelFile[] = [];
  for (const name of readdirSync(folder).sort()) {
    if (!LOADED.test(name)) continue;
    // A dangling link (or one to a folder) is not a file the loader could read: left out, not a 500.
    const stat = statSync(join(folder, name), { throwIfNoEntry: false });
    if (stat?.isFile()) out.push({ name, bytes: stat.size });
  }
  return out;
}

/** A listed file as a streamed response body, or null when `name` is not one of them. */
export function modelFileBody(folder: string, name: string): { body: ReadableStream; bytes: number } | null {
  if (!LOADED.test(name)) return null;
  const file = join(folder, name);
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile()) return null;
  return { body: Readable.toWeb(createReadStream(file)) as ReadableStream, bytes: stat.size };
}
