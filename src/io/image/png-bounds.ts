/**
 * Holds a PNG to what its header promises before fast-png decodes it. A zlib stream can inflate ~1000×, so a
 * small file may claim a 1×1 image and carry hundreds of megabytes of image data, or a colour profile that
 * inflates without end; fast-png inflates everything first and looks at sizes afterwards.
 * - IDAT: inflated in small steps and counted; past the bytes that IHDR's size, depth, colour type and
 *   interlacing need (the filtered rows), the file is refused at once.
 * - iCCP, zTXt and compressed iTXt: inflated to at most 1 MiB each, Pillow's `MAX_TEXT_CHUNK`, past which
 *   Pillow refuses the file too ("Decompressed Data Too Large"); a corrupt stream there is ignored as Pillow
 *   ignores it. fast-png then gets only the chunks it needs (IHDR, PLTE, tRNS, IDAT, IEND), so it inflates
 *   nothing else.
 * - Every chunk's CRC is checked, as Pillow checks the chunks it reads.
 */
import { Unzlib } from "fflate";
import { FormatError } from "../../util/errors.js";
import { crc32 } from "./crc32.js";

/** Pillow's PngImagePlugin.MAX_TEXT_CHUNK (ImageFile.SAFEBLOCK). */
export const MAX_PNG_METADATA_BYTES = 1024 * 1024;

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const COLOUR_NAMES: Record<number, string> = {
  0: "grey",
  2: "RGB",
  3: "palette",
  4: "grey+alpha",
  6: "RGBA",
};
/** Adam7 interlacing's passes: x start, y start, x step, y step. */
export const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;
/** Deflate's largest expansion (a 258-byte match in ~2 bits): one compressed byte makes at most this many. */
const MAX_RATIO = 1032;
const KEEP = new Set(["IHDR", "PLTE", "tRNS", "IDAT", "IEND"]);

/** Bytes of filtered scanlines (a filter byte per row) an image of this header inflates to. */
export function pngDataBytes(
  width: number,
  height: number,
  depth: number,
  colorType: number,
  interlace: number,
): number {
  const bitsPerPixel = (CHANNELS[colorType] ?? 4) * depth;
  const rows = (w: number, h: number) => (w > 0 && h > 0 ? h * (1 + Math.ceil((w * bitsPerPixel) / 8)) : 0);
  if (interlace !== 1) return rows(width, height);
  let total = 0;
  for (const [xs, ys, dx, dy] of ADAM7)
    total += rows(Math.ceil((width - xs) / dx), Math.ceil((height - ys) / dy));
  return total;
}

class TooLarge extends Error {}

/**
 * Inflates `parts` (one zlib stream split over chunks) and counts its output without keeping it; throws
 * TooLarge as soon as it passes `cap`. Returns the total.
 */
function inflatedSize(parts: Uint8Array[], cap: number): number {
  let total = 0;
  const inflater = new Unzlib((chunk) => {
    total += chunk.length;
    if (total > cap) throw new TooLarge();
  });
  for (const part of parts)
    for (let p = 0; p < part.length; ) {
      // Small steps near the cap (a step's output can pass it by at most 64 KiB), large ones far from it
      // (each push copies the 32 KiB window, so tiny steps all along would be slow for an honest image).
      const step = Math.max(64, Math.min(1 << 16, Math.floor((cap - total) / MAX_RATIO)));
      inflater.push(part.subarray(p, Math.min(p + step, part.length)));
      p += step;
    }
  inflater.push(new Uint8Array(0), true);
  return total;
}

/**
 * Checks `bytes` (a PNG whose signature was recognised) and returns the file fast-png should decode: the
 * same image with only the chunks it reads. Throws FormatError for a bomb, a plain Error for corruption
 * (the caller calls it a corrupt file).
 */
export function boundedPng(bytes: Uint8Array): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kept: Uint8Array[] = [bytes.subarray(0, 8)];
  const idat: Uint8Array[] = [];
  let ihdr: { width: number; height: number; depth: number; colorType: number; interlace: number } | null =
    null;
  let dropped = false;
  let p = 8;
  for (;;) {
    if (p + 12 > bytes.length) throw new Error("the file ends before the IEND chunk");
    const length = dv.getUint32(p);
    const type = String.fromCharCode(...bytes.subarray(p + 4, p + 8));
    const end = p + 12 + length;
    if (length > 0x7fffffff || end > bytes.length)
      throw new Error(`chunk ${JSON.stringify(type)} is cut off`);
    const data = bytes.subarray(p + 8, p + 8 + length);
    if (crc32(bytes.subarray(p + 4, p + 8 + length)) !== dv.getUint32(p + 8 + length))
      throw new Error(`CRC mismatch in chunk ${JSON.stringify(type)}`);
    if (type === "IHDR") {
      if (length !== 13) throw new Error("IHDR is not 13 bytes");
      ihdr = {
        width: dv.getUint32(p + 8),
        height: dv.getUint32(p + 12),
        depth: data[8]!,
        colorType: data[9]!,
        interlace: data[12]!,
      };
    } else if (type === "IDAT") {
      idat.push(data);
    } else {
      const compressed = metadataStream(type, data);
      if (compressed) {
        try {
          inflatedSize([compressed], MAX_PNG_METADATA_BYTES);
        } catch (e) {
          if (e instanceof TooLarge)
            throw new FormatError(
              `the PNG's ${type} chunk inflates to more than ${MAX_PNG_METADATA_BYTES} bytes, ` +
                "the limit for metadata (a decompression bomb?)",
            );
          // A corrupt profile or text is ignored, as Pillow ignores it.
        }
      }
    }
    if (KEEP.has(type)) kept.push(bytes.subarray(p, end));
    else dropped = true;
    p = end;
    if (type === "IEND") break;
  }
  if (!ihdr) throw new Error("no IHDR chunk");
  if (idat.length === 0) throw new Error("no image data (IDAT chunk)");
  const { width, height, depth, colorType, interlace } = ihdr;
  const need = pngDataBytes(width, height, depth, colorType, interlace);
  try {
    inflatedSize(idat, need);
  } catch (e) {
    if (e instanceof TooLarge)
      throw new FormatError(
        `the PNG's image data inflates to more than the ${need} bytes its ${width}×${height} ` +
          `${depth}-bit ${COLOUR_NAMES[colorType] ?? `colour type ${colorType}`} header needs (a decompression bomb?)`,
      );
    throw e;
  }
  if (!dropped) return bytes;
  const out = new Uint8Array(kept.reduce((n, k) => n + k.length, 0));
  let o = 0;
  for (const k of kept) {
    out.set(k, o);
    o += k.length;
  }
  return out;
}

/** The zlib stream of a metadata chunk that carries one: iCCP, zTXt, and iTXt when its flag says compressed. */
function metadataStream(type: string, data: Uint8Array): Uint8Array | null {
  const nul = data.indexOf(0);
  if (nul < 0) return null;
  // iCCP and zTXt: keyword, NUL, compression method (0 = zlib), stream.
  if (type === "iCCP" || type === "zTXt") return data[nul + 1] === 0 ? data.subarray(nul + 2) : null;
  if (type === "iTXt") {
    // keyword, NUL, compression flag, method, language tag, NUL, translated keyword, NUL, text.
    if (data[nul + 1] !== 1 || data[nul + 2] !== 0) return null;
    const lang = data.indexOf(0, nul + 3);
    const translated = lang < 0 ? -1 : data.indexOf(0, lang + 1);
    return translated < 0 ? null : data.subarray(translated + 1);
  }
  return null;
}
