/**
 * GIF → RGB of the first frame, as `Image.open(f).convert("RGB")` gives it. gifuct-js (pure JS) does the
 * LZW decoding and de-interlacing; the layout rules (size, palette choice, transparency) are in
 * gif-layout.ts. Pillow builds the first frame as a palette ("P") image:
 * - the canvas starts filled with the transparency index when the frame has one, else with index 0;
 * - the frame's indices are written at its offset, transparent ones included (only later frames skip them);
 * - RGB is each index through the frame's palette (black past its end), or the index as a grey level when
 *   Pillow read the frame as greyscale. So transparent pixels show their palette colour: no compositing.
 */
import { decompressFrame, parseGIF } from "gifuct-js";
import type { GifLayout } from "./gif-layout.js";
import type { RgbImage } from "./rgb-image.js";

type ParsedGifFrame = Parameters<typeof decompressFrame>[0];

export function decodeGif(bytes: Uint8Array, layout: GifLayout): RgbImage {
  // Hand the decoder a clean GIF of the header, the global colour table and the first frame, then a
  // trailer: extensions, stray bytes and later frames cannot trip it (Pillow skips or ignores them too).
  const { headerEnd, descriptorStart, end } = layout;
  const head = new Uint8Array(headerEnd + (end - descriptorStart) + 1);
  head.set(bytes.subarray(0, headerEnd));
  head.set(bytes.subarray(descriptorStart, end), headerEnd);
  head[head.length - 1] = 0x3b;
  const parsed = parseGIF(head.buffer);
  const frame = parsed.frames.find((f): f is ParsedGifFrame => "image" in f);
  if (!frame) throw new Error("no image in the first frame");
  const { pixels } = decompressFrame(frame, parsed.gct, false);

  const { width: W, height: H, left, top, frameWidth: fw, frameHeight: fh, palette } = layout;
  const colour = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    if (palette) {
      if (i * 3 + 3 <= palette.length) colour.set(palette.subarray(i * 3, i * 3 + 3), i * 3);
    } else {
      colour[i * 3] = colour[i * 3 + 1] = colour[i * 3 + 2] = i;
    }
  }
  const fill = (layout.transparentIndex ?? 0) * 3;
  const out = new Uint8Array(W * H * 3);
  for (let o = 0; o < W * H * 3; o += 3) {
    out[o] = colour[fill]!;
    out[o + 1] = colour[fill + 1]!;
    out[o + 2] = colour[fill + 2]!;
  }
  for (let y = 0; y < fh; y++) {
    for (let x = 0; x < fw; x++) {
      const idx = (pixels[y * fw + x] ?? 0) & 255;
      const o = ((top + y) * W + left + x) * 3;
      out[o] = colour[idx * 3]!;
      out[o + 1] = colour[idx * 3 + 1]!;
      out[o + 2] = colour[idx * 3 + 2]!;
    }
  }
  return { width: W, height: H, data: out };
}
