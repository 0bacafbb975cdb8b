/**
 * Image bytes → RGB, as the official pipelines get it from `PIL.Image.open(f).convert("RGB")`.
 * Formats: PNG, JPEG, WebP and GIF (first frame); the conversion rules of each are in its own file.
 * Every failure is a FormatError that names the file (when given) and what was expected; images above the
 * pixel limit are refused from their header, before any pixel is decoded.
 */
import { FormatError, UsageError } from "../../util/errors.js";
import { decodeGif } from "./gif.js";
import { FORMAT_NAMES, readImageHeader } from "./header.js";
import { decodeJpeg } from "./jpeg.js";
import { decodePng } from "./png.js";
import type { RgbImage } from "./rgb-image.js";
import { decodeWebp } from "./webp.js";

/** 50 megapixels: far above any photo a vision tower needs (they see 336–384 px), far below a memory risk. */
export const DEFAULT_MAX_PIXELS = 50_000_000;

export interface DecodeImageOptions {
  /** Refuse images with more pixels than this (width·height), checked from the header. Default 50 M. */
  maxPixels?: number;
  /** The file name or URL, used in error messages. */
  source?: string;
  /** Quote an unrecognised file's first bytes in the error (default true; a server turns it off). */
  quoteBytes?: boolean;
}

/**
 * Decodes a PNG, JPEG, WebP or GIF file to RGB.
 *
 * @example
 * const img = await decodeImage(await readFile("cat.jpg"), { source: "cat.jpg" });
 * // img.width, img.height, img.data (HWC RGB bytes)
 */
export async function decodeImage(bytes: Uint8Array, opts: DecodeImageOptions = {}): Promise<RgbImage> {
  const source = opts.source ?? "image";
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(maxPixels > 0)) throw new UsageError(`maxPixels must be a positive number, got ${maxPixels}`);
  if (!(bytes instanceof Uint8Array))
    throw new UsageError(`${source}: decodeImage needs a Uint8Array of file bytes`);

  const header = readImageHeader(bytes, source, { quoteBytes: opts.quoteBytes });
  const { width, height, format } = header;
  const name = FORMAT_NAMES[format];
  if (width * height > maxPixels) {
    throw new FormatError(
      `${source}: ${name} image is ${width}×${height} = ${((width * height) / 1e6).toFixed(1)} megapixels, ` +
        `over the limit of ${maxPixels / 1e6} megapixels (raise maxPixels to accept it)`,
    );
  }

  let img: RgbImage;
  try {
    switch (format) {
      case "png":
        img = decodePng(bytes);
        break;
      case "jpeg":
        img = await decodeJpeg(bytes, header);
        break;
      case "webp":
        img = await decodeWebp(bytes, header);
        break;
      case "gif":
        img = decodeGif(bytes, header.gif!);
        break;
    }
  } catch (e) {
    // A decoder's own refusal (a bomb, a limit) already says what is wrong.
    if (e instanceof FormatError) throw new FormatError(`${source}: ${e.message}`, { cause: e });
    const detail = e instanceof Error ? e.message : String(e);
    throw new FormatError(`${source}: corrupt or truncated ${name} file (${detail})`, { cause: e });
  }
  if (img.width !== width || img.height !== height || img.data.length !== width * height * 3) {
    throw new FormatError(
      `${source}: ${name} header says ${width}×${height} but the decoder produced ${img.width}×${img.height}`,
    );
  }
  return img;
}
