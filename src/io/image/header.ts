/**
 * Recognises an image file by its signature and reads its size from the header, without decoding pixels,
 * so that oversized images are refused before any pixel memory is allocated. Formats: PNG, JPEG, WebP, GIF
 * (those Pillow opens for the official pipelines that we support; anything else is refused by name).
 */
import { FormatError } from "../../util/errors.js";
import { type GifLayout, readGifLayout } from "./gif-layout.js";

export type ImageFormat = "png" | "jpeg" | "webp" | "gif";

export interface ImageHeader {
  format: ImageFormat;
  /** The size of the decoded image (for GIF, the logical screen grown to hold the first frame, as Pillow does). */
  width: number;
  height: number;
  /** JPEG: the number of colour components (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK). */
  components?: number;
  /** JPEG: whether an Adobe APP14 marker is present, and the offset of the first scan (SOS) marker. */
  adobe?: boolean;
  scanStart?: number;
  /** WebP: the chunk that holds the image (`VP8 `, `VP8L` or `VP8X`) and whether it is animated. */
  webpChunk?: string;
  animated?: boolean;
  /** GIF: where the first frame's parts are. */
  gif?: GifLayout;
}

export const FORMAT_NAMES: Record<ImageFormat, string> = {
  png: "PNG",
  jpeg: "JPEG",
  webp: "WebP",
  gif: "GIF",
};

const hex = (bytes: Uint8Array, n: number) =>
  Array.from(bytes.subarray(0, n), (b) => b.toString(16).padStart(2, "0")).join(" ");

function ascii(bytes: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + n));
}

/** Names a few formats we do not decode, so the error says what the file is. */
function otherFormat(b: Uint8Array): string | null {
  if (b[0] === 0x42 && b[1] === 0x4d) return "BMP";
  if (ascii(b, 0, 4) === "II*\0" || ascii(b, 0, 4) === "MM\0*") return "TIFF";
  if (ascii(b, 4, 4) === "ftyp") {
    const brand = ascii(b, 8, 4);
    if (brand.startsWith("avi")) return "AVIF";
    if (brand.startsWith("hei") || brand.startsWith("mif")) return "HEIF/HEIC";
  }
  if (ascii(b, 0, 4) === "%PDF") return "PDF";
  if (b[0] === 0x3c) return "text/SVG/HTML";
  return null;
}

export function detectFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && hex(bytes, 8) === "89 50 4e 47 0d 0a 1a 0a") return "png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  if (bytes.length >= 6 && (ascii(bytes, 0, 6) === "GIF87a" || ascii(bytes, 0, 6) === "GIF89a")) return "gif";
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") return "webp";
  return null;
}

/** The format whose signature this (too short) file is the start of, if any. */
function truncatedSignature(b: Uint8Array): ImageFormat | null {
  const startsLike = (sig: number[]) => b.length < sig.length && b.every((v, i) => v === sig[i]);
  if (startsLike([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (startsLike([0xff, 0xd8, 0xff])) return "jpeg";
  if (startsLike([0x47, 0x49, 0x46, 0x38, 0x39, 0x61]) || startsLike([0x47, 0x49, 0x46, 0x38, 0x37, 0x61]))
    return "gif";
  if (b.length < 12 && ascii(b, 0, Math.min(4, b.length)) === "RIFF".slice(0, Math.min(4, b.length)))
    return "webp";
  return null;
}

/**
 * Reads format and size; throws FormatError naming `source` for unknown, truncated or malformed headers.
 * `quoteBytes: false` keeps an unknown file's first bytes out of the message (a server reading a local file
 * for a client must not show it the file's content).
 */
export function readImageHeader(
  bytes: Uint8Array,
  source = "image",
  opts: { quoteBytes?: boolean } = {},
): ImageHeader {
  const format = detectFormat(bytes);
  if (!format) {
    if (bytes.length === 0)
      throw new FormatError(`${source}: the file is empty (expected a PNG, JPEG, WebP or GIF image)`);
    const cut = truncatedSignature(bytes);
    if (cut)
      throw new FormatError(
        `${source}: corrupt or truncated ${FORMAT_NAMES[cut]} file (only ${bytes.length} bytes)`,
      );
    const other = otherFormat(bytes);
    throw new FormatError(
      other
        ? `${source}: ${other} images are not supported (expected PNG, JPEG, WebP or GIF)`
        : `${source}: not a PNG, JPEG, WebP or GIF image` +
            (opts.quoteBytes === false ? "" : ` (the file starts with ${hex(bytes, 8)})`),
    );
  }
  const fail = (what: string): never => {
    throw new FormatError(`${source}: corrupt or truncated ${FORMAT_NAMES[format]} header: ${what}`);
  };
  const header = (() => {
    switch (format) {
      case "png":
        return pngHeader(bytes, fail);
      case "jpeg":
        return jpegHeader(bytes, fail);
      case "webp":
        return webpHeader(bytes, fail);
      case "gif": {
        const gif = readGifLayout(bytes, fail);
        return { format, width: gif.width, height: gif.height, gif } satisfies ImageHeader;
      }
    }
  })();
  if (header.width < 1 || header.height < 1) fail(`image size ${header.width}×${header.height}`);
  return header;
}

function pngHeader(b: Uint8Array, fail: (what: string) => never): ImageHeader {
  // Signature, then the IHDR chunk: length 13, "IHDR", width, height, depth, colour type, ...
  if (b.length < 33) fail(`${b.length} bytes, too short for the IHDR chunk`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(8) !== 13 || ascii(b, 12, 4) !== "IHDR") fail("the first chunk is not IHDR");
  const width = dv.getUint32(16);
  const height = dv.getUint32(20);
  if (width > 0x7fffffff || height > 0x7fffffff) fail(`image size ${width}×${height}`);
  return { format: "png", width, height };
}

// SOF markers: C0–CF except DHT (C4), JPG (C8) and DAC (CC).
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

function jpegHeader(b: Uint8Array, fail: (what: string) => never): ImageHeader {
  // Walk the marker segments up to the first scan (SOS), as libjpeg's jpeg_read_header does: the frame
  // header (SOF) gives size and components; an Adobe APP14 marker may come before or after it.
  let adobe = false;
  let frame: { width: number; height: number; components: number } | null = null;
  let p = 2;
  for (;;) {
    if (p >= b.length)
      fail(frame ? "no image data (SOS) before the end of the file" : "no frame header (SOF)");
    if (b[p] !== 0xff) fail(`expected a marker at byte ${p}, found 0x${b[p]!.toString(16)}`);
    while (b[p] === 0xff) p++; // fill bytes
    if (p >= b.length) fail("the file ends inside a marker");
    const m = b[p++]!;
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd8)) continue; // markers without a length
    if (m === 0xd9) fail("end of image before any image data");
    if (m === 0xda) {
      if (!frame) fail("image data (SOS) before the frame header (SOF)");
      return { format: "jpeg", ...frame!, adobe, scanStart: p - 2 };
    }
    if (p + 2 > b.length) fail("a marker segment is cut off");
    const len = (b[p]! << 8) | b[p + 1]!;
    if (len < 2 || p + len > b.length) fail(`marker 0x${m.toString(16)} has a bad length ${len}`);
    if (m === 0xee && len >= 14 && ascii(b, p + 2, 5) === "Adobe") adobe = true;
    if (isSof(m) && !frame) {
      if (len < 8) fail("frame header too short");
      const height = (b[p + 3]! << 8) | b[p + 4]!;
      const width = (b[p + 5]! << 8) | b[p + 6]!;
      if (height === 0) fail("height 0 (a DNL marker), which libjpeg does not support");
      frame = { width, height, components: b[p + 7]! };
    }
    p += len;
  }
}

function webpHeader(b: Uint8Array, fail: (what: string) => never): ImageHeader {
  if (b.length < 30) fail(`${b.length} bytes, too short for a WebP header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const riffSize = dv.getUint32(4, true);
  if (riffSize + 8 > b.length)
    fail(`the RIFF container says ${riffSize + 8} bytes, the file has ${b.length}`);
  const chunk = ascii(b, 12, 4);
  const at = 20;
  const u24 = (i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
  if (chunk === "VP8 ") {
    // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height (the top 2 bits are scaling).
    if (b[at + 3] !== 0x9d || b[at + 4] !== 0x01 || b[at + 5] !== 0x2a) fail("bad VP8 start code");
    return {
      format: "webp",
      width: dv.getUint16(at + 6, true) & 0x3fff,
      height: dv.getUint16(at + 8, true) & 0x3fff,
      webpChunk: chunk,
      animated: false,
    };
  }
  if (chunk === "VP8L") {
    if (b[at] !== 0x2f) fail("bad VP8L signature");
    const bits = dv.getUint32(at + 1, true);
    return {
      format: "webp",
      width: (bits & 0x3fff) + 1,
      height: ((bits >>> 14) & 0x3fff) + 1,
      webpChunk: chunk,
      animated: false,
    };
  }
  if (chunk === "VP8X") {
    return {
      format: "webp",
      width: u24(at + 4) + 1,
      height: u24(at + 7) + 1,
      webpChunk: chunk,
      animated: (b[at]! & 0x02) !== 0,
    };
  }
  return fail(`unknown first chunk ${JSON.stringify(chunk)} (expected VP8, VP8L or VP8X)`);
}
