/**
 * PNG → RGB as `Image.open(f).convert("RGB")` gives it. fast-png (pure JS) decodes the samples; the
 * conversion follows Pillow (PngImagePlugin's mode table, Unpack.c, Convert.c):
 * - grey 1-bit (mode "1"): set bits → 255, clear → 0; grey 2- and 4-bit (mode "L"): scaled by 85 and 17;
 *   grey 8-bit: replicated to R = G = B;
 * - grey 16-bit (mode "I;16"): NOT scaled: values above 255 clip to 255, the rest keep their low byte;
 * - RGB, RGBA and grey+alpha at 16 bits: the high byte of each sample;
 * - grey+alpha, RGBA: the alpha channel is dropped (Pillow does not composite onto a background);
 * - palette ("P", any depth): each index through the PLTE colours; an index past the palette gives black
 *   (Pillow's palette entries start zeroed);
 * - tRNS transparency, gamma and colour profiles are ignored for RGB, as Pillow ignores them;
 * - APNG: the default image (IDAT), which is what Pillow shows as the first frame; other frames are never
 *   inflated.
 */
import { decode as decodeFastPng } from "fast-png";
import { boundedPng } from "./png-bounds.js";
import type { RgbImage } from "./rgb-image.js";

export function decodePng(bytes: Uint8Array): RgbImage {
  // Bombs are refused and metadata dropped first (png-bounds.ts), which also checked every CRC.
  const png = decodeFastPng(boundedPng(bytes));
  const { width, height, depth, channels } = png;
  const n = width * height;
  const out = new Uint8Array(n * 3);
  const src = png.data;
  const expected = depth < 8 ? Math.ceil((width * depth) / 8) * height : n * channels;
  if (src.length < expected) throw new Error(`image data is ${src.length} samples, expected ${expected}`);

  if (png.palette) {
    const pal = png.palette;
    for (let y = 0, o = 0; y < height; y++) {
      const row = unpackRow(src, y, width, depth);
      for (let x = 0; x < width; x++, o += 3) {
        const c = pal[row[x]!];
        if (c) {
          out[o] = c[0]!;
          out[o + 1] = c[1]!;
          out[o + 2] = c[2]!;
        }
      }
    }
    return { width, height, data: out };
  }

  if (channels === 1 || channels === 2) {
    // Grey, optionally with alpha (dropped).
    if (depth < 8) {
      const scale = depth === 1 ? 255 : depth === 2 ? 85 : 17;
      for (let y = 0, o = 0; y < height; y++) {
        const row = unpackRow(src, y, width, depth);
        for (let x = 0; x < width; x++, o += 3) out[o] = out[o + 1] = out[o + 2] = row[x]! * scale;
      }
    } else {
      for (let i = 0, o = 0; i < n; i++, o += 3) {
        const s = src[i * channels]!;
        // 16-bit grey alone is Pillow's "I;16" (clipped); with alpha it is unpacked by its high byte.
        const v = depth === 16 ? (channels === 1 ? Math.min(s, 255) : s >> 8) : s;
        out[o] = out[o + 1] = out[o + 2] = v;
      }
    }
    return { width, height, data: out };
  }

  // RGB or RGBA (alpha dropped).
  const shift = depth === 16 ? 8 : 0;
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    const s = i * channels;
    out[o] = src[s]! >> shift;
    out[o + 1] = src[s + 1]! >> shift;
    out[o + 2] = src[s + 2]! >> shift;
  }
  return { width, height, data: out };
}

/** One row of single-channel samples (grey or palette index); depths below 8 are packed MSB first. */
function unpackRow(src: ArrayLike<number>, y: number, width: number, depth: number): ArrayLike<number> {
  if (depth === 8) return (src as Uint8Array).subarray(y * width, (y + 1) * width);
  const rowBytes = Math.ceil((width * depth) / 8);
  const base = y * rowBytes;
  const row = new Uint8Array(width);
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  for (let x = 0; x < width; x++) {
    const byte = src[base + Math.floor(x / perByte)]!;
    row[x] = (byte >> (8 - depth * ((x % perByte) + 1))) & mask;
  }
  return row;
}
