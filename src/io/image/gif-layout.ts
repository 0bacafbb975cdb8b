/**
 * Walks a GIF's blocks up to the end of the first frame, the way Pillow's GifImagePlugin opens one:
 * - the image size is the logical screen, grown to contain the first frame's rectangle if it sticks out;
 * - the first frame's palette is its local colour table if it has one, else the global one; a table that is
 *   exactly the identity grey ramp (entry i = (i, i, i)) is dropped and the image read as greyscale ("L");
 * - the transparency index comes from the last graphic control extension before the frame that sets one;
 * - stray bytes between blocks are skipped.
 * Checks that the first frame's data is complete (ends with its block terminator) without decoding it.
 */

export interface GifLayout {
  width: number;
  height: number;
  left: number;
  top: number;
  frameWidth: number;
  frameHeight: number;
  interlaced: boolean;
  /** RGB triples of the frame's palette, or null when Pillow reads the frame as greyscale (index = grey). */
  palette: Uint8Array | null;
  transparentIndex: number | null;
  minCodeSize: number;
  /** Byte offsets: end of the header and global colour table, start of the first image descriptor (0x2C),
   * and just past the first frame's data. */
  headerEnd: number;
  descriptorStart: number;
  end: number;
}

/** Pillow's `_is_palette_needed`: false only for the identity grey ramp. */
function paletteNeeded(p: Uint8Array): boolean {
  for (let i = 0; i < p.length; i += 3) {
    const k = i / 3;
    if (!(p[i] === k && p[i + 1] === k && p[i + 2] === k)) return true;
  }
  return false;
}

export function readGifLayout(b: Uint8Array, fail: (what: string) => never): GifLayout {
  const u16 = (i: number) => b[i]! | (b[i + 1]! << 8);
  if (b.length < 13) fail(`${b.length} bytes, too short for the screen descriptor`);
  const screenW = u16(6);
  const screenH = u16(8);
  const flags = b[10]!;
  let p = 13;
  let globalPalette: Uint8Array | null = null;
  if (flags & 0x80) {
    const n = 3 << ((flags & 7) + 1);
    if (p + n > b.length) fail("the global colour table is cut off");
    const gct = b.subarray(p, p + n);
    if (paletteNeeded(gct)) globalPalette = gct;
    p += n;
  }
  const headerEnd = p;
  // Skips data sub-blocks from p; returns the offset after the zero-length terminator.
  const skipSubBlocks = (q: number, what: string): number => {
    for (;;) {
      if (q >= b.length) fail(`${what} is cut off`);
      const n = b[q]!;
      q += 1 + n;
      if (n === 0) return q;
    }
  };
  let transparentIndex: number | null = null;
  for (;;) {
    if (p >= b.length || b[p] === 0x3b) fail("no image before the end of the file");
    const c = b[p++]!;
    if (c === 0x21) {
      if (p >= b.length) fail("an extension block is cut off");
      const label = b[p++]!;
      if (label === 0xf9 && p < b.length && b[p]! >= 4 && p + 4 < b.length) {
        if (b[p + 1]! & 1) transparentIndex = b[p + 4]!; // a later GCE without the flag keeps it
      }
      p = skipSubBlocks(p, "an extension block");
    } else if (c === 0x2c) {
      const descriptorStart = p - 1;
      if (p + 9 > b.length) fail("the first image descriptor is cut off");
      const left = u16(p);
      const top = u16(p + 2);
      const frameWidth = u16(p + 4);
      const frameHeight = u16(p + 6);
      const iflags = b[p + 8]!;
      p += 9;
      let palette = globalPalette;
      if (iflags & 0x80) {
        const n = 3 << ((iflags & 7) + 1);
        if (p + n > b.length) fail("the local colour table is cut off");
        const lct = b.subarray(p, p + n);
        palette = paletteNeeded(lct) ? lct : null;
        p += n;
      }
      if (p >= b.length) fail("the first frame's data is cut off");
      const minCodeSize = b[p++]!;
      if (minCodeSize < 1 || minCodeSize > 11) fail(`LZW code size ${minCodeSize}`);
      const end = skipSubBlocks(p, "the first frame's data");
      return {
        width: Math.max(screenW, left + frameWidth),
        height: Math.max(screenH, top + frameHeight),
        left,
        top,
        frameWidth,
        frameHeight,
        interlaced: (iflags & 0x40) !== 0,
        palette,
        transparentIndex,
        minCodeSize,
        headerEnd,
        descriptorStart,
        end,
      };
    }
    // Anything else is skipped byte by byte, as Pillow does.
  }
}
