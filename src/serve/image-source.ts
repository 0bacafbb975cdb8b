/**
 * Where a request's image comes from: an OpenAI `image_url` (a `data:` URL; a `file:` URL only under the
 * folder that `--allow-local-images` names) or an Ollama base64 string. Nothing is ever fetched from a
 * network. The byte limit is checked here; the engine decodes the bytes (runtime/engine/prepare.ts) with the
 * pixel limit, so a bad image is a 400 naming its field before the request waits in the queue.
 */
import { readFile, realpath, stat } from "node:fs/promises";
import { isAbsolute, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { invalid } from "./errors.js";
import type { ServeLimits } from "./limits.js";

export interface ImageSourceOptions {
  limits: Pick<ServeLimits, "maxImageBytes" | "maxImagePixels">;
  /** A folder whose files `file:` URLs may name; null refuses every `file:` URL. */
  allowLocalImages: string | null;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (standard alphabet, optional padding, whitespace ignored); Buffer.from alone skips junk. */
export function decodeBase64(text: string, field: string, maxBytes: number): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  if (clean.length === 0) throw invalid(field, "the image data is empty");
  // Checked before decoding, so an oversized image costs no memory.
  const bytes = Math.floor((clean.length * 3) / 4) - (clean.endsWith("==") ? 2 : clean.endsWith("=") ? 1 : 0);
  if (bytes > maxBytes)
    throw invalid(
      field,
      `the image is ${bytes} bytes, over the limit of ${maxBytes} bytes`,
      "image_too_large",
    );
  if (!BASE64.test(clean) || clean.length % 4 === 1 || (clean.includes("=") && clean.length % 4 !== 0))
    throw invalid(field, "the image is not valid base64", "invalid_base64");
  return new Uint8Array(Buffer.from(clean, "base64"));
}

/** Bytes of an image_url's `url`. */
export async function imageUrlBytes(
  url: string,
  field: string,
  opts: ImageSourceOptions,
): Promise<Uint8Array> {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  if (scheme === "data") {
    const comma = url.indexOf(",");
    if (comma < 0) throw invalid(field, "a data: URL needs a comma before its data", "invalid_image_url");
    const meta = url.slice(5, comma).toLowerCase();
    if (!meta.endsWith(";base64"))
      throw invalid(
        field,
        "only base64 data: URLs are accepted (data:image/png;base64,...)",
        "invalid_image_url",
      );
    const mime = meta.slice(0, -";base64".length).split(";")[0]!;
    if (mime !== "" && !mime.startsWith("image/") && mime !== "application/octet-stream")
      throw invalid(field, `a data: URL of type "${mime}" is not an image`, "invalid_image_url");
    return decodeBase64(url.slice(comma + 1), field, opts.limits.maxImageBytes);
  }
  if (scheme === "http" || scheme === "https")
    throw invalid(
      field,
      "remote image URLs are not fetched (this server reaches no network); send the image as a data: URL",
      "invalid_image_url",
    );
  if (scheme === "file") return localFileBytes(url, field, opts);
  throw invalid(field, "expected a data: URL (data:image/png;base64,...)", "invalid_image_url");
}

async function localFileBytes(url: string, field: string, opts: ImageSourceOptions): Promise<Uint8Array> {
  if (!opts.allowLocalImages)
    throw invalid(
      field,
      "file: URLs are refused; start the server with --allow-local-images DIR to allow files under DIR",
      "invalid_image_url",
    );
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch {
    throw invalid(field, "not a valid file: URL", "invalid_image_url");
  }
  // realpath resolves `..` and symlinks, so a link inside the folder cannot point outside it.
  const root = await realpath(opts.allowLocalImages);
  const real = await realpath(path).catch(() => null);
  const rel = real === null ? null : relative(root, real);
  if (rel === null || rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel))
    throw invalid(field, "no such image file under the allowed folder", "invalid_image_url");
  const st = await stat(real!);
  if (!st.isFile()) throw invalid(field, "not a file", "invalid_image_url");
  if (st.size > opts.limits.maxImageBytes)
    throw invalid(
      field,
      `the image is ${st.size} bytes, over the limit of ${opts.limits.maxImageBytes} bytes`,
      "image_too_large",
    );
  return new Uint8Array(await readFile(real!));
}
