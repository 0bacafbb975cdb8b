/**
 * TEST-ONLY: tiny writers for PNG and GIF files with exactly the structure a test needs (any bit depth,
 * short palettes, tRNS, frame offsets, interlacing), so decoder tests need no binary files. Not optimised
 * and not for library use.
 */
import { deflateSync } from "node:zlib";
import { crc32 } from "../io/image/crc32.js";
import { ADAM7 } from "../io/image/png-bounds.js";

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export interface TestPng {
  width: number;
  height: number;
  /** 1, 2, 4, 8 or 16. */
  depth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colorType: number;
  /** Samples in row-major order, one number per channel (palette indices for type 3). */
  samples: ArrayLike<number>;
  plte?: number[];
  trns?: number[];
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** A valid PNG (filter type 0 on every row; Adam7-interlaced when asked). */
export function encodeTestPng(p: TestPng & { interlaced?: boolean }): Uint8Array {
  const ch = CHANNELS[p.colorType]!;
  // Each pass is a small image of the pixels it holds (the whole image when not interlaced).
  const passes = p.interlaced ? ADAM7 : [[0, 0, 1, 1]];
  const rows: Uint8Array[] = [];
  for (const [x0, y0, dx, dy] of passes as [number, number, number, number][]) {
    const xs: number[] = [];
    for (let x = x0; x < p.width; x += dx) xs.push(x);
    if (xs.length === 0) continue;
    const rowBytes = Math.ceil((xs.length * ch * p.depth) / 8);
    for (let y = y0; y < p.height; y += dy) {
      const line = new Uint8Array(rowBytes + 1);
      const row = line.subarray(1);
      xs.forEach((x, k) => {
        for (let c = 0; c < ch; c++) {
          const i = k * ch + c;
          const v = p.samples[(y * p.width + x) * ch + c]!;
          if (p.depth === 16) {
            row[i * 2] = v >> 8;
            row[i * 2 + 1] = v & 255;
          } else if (p.depth === 8) {
            row[i] = v;
          } else {
            const bit = i * p.depth;
            row[bit >> 3]! |= v << (8 - p.depth - (bit & 7));
          }
        }
      });
      rows.push(line);
    }
  }
  const raw = concat(rows);
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, p.width);
  dv.setUint32(4, p.height);
  ihdr.set([p.depth, p.colorType, 0, 0, p.interlaced ? 1 : 0], 8);
  const parts = [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), pngChunk("IHDR", ihdr)];
  if (p.plte) parts.push(pngChunk("PLTE", Uint8Array.from(p.plte)));
  if (p.trns) parts.push(pngChunk("tRNS", Uint8Array.from(p.trns)));
  parts.push(pngChunk("IDAT", deflateSync(raw)), pngChunk("IEND", new Uint8Array(0)));
  return concat(parts);
}

export interface TestGifFrame {
  left: number;
  top: number;
  width: number;
  height: number;
  /** Row-major palette indices, width·height of them (in display order; interlacing is applied here). */
  indices: number[];
  localPalette?: number[];
  transparentIndex?: number;
  interlaced?: boolean;
}

/** LZW with fixed-width codes: a clear code before the table would grow, so every code is one pixel. */
function lzwFixed(indices: number[], minCodeSize: number): Uint8Array {
  const clear = 1 << minCodeSize;
  const width = minCodeSize + 1;
  const codes = [clear];
  let run = 0;
  for (const v of indices) {
    if (run === clear - 2) {
      codes.push(clear);
      run = 0;
    }
    codes.push(v);
    run++;
  }
  codes.push(clear + 1);
  const bytes: number[] = [];
  let acc = 0;
  let nbits = 0;
  for (const c of codes) {
    acc |= c << nbits;
    nbits += width;
    while (nbits >= 8) {
      bytes.push(acc & 255);
      acc >>= 8;
      nbits -= 8;
    }
  }
  if (nbits > 0) bytes.push(acc & 255);
  const out: number[] = [minCodeSize];
  for (let i = 0; i < bytes.length; i += 255) {
    const block = bytes.slice(i, i + 255);
    out.push(block.length, ...block);
  }
  out.push(0);
  return Uint8Array.from(out);
}

const INTERLACE_PASSES: [number, number][] = [
  [0, 8],
  [4, 8],
  [2, 4],
  [1, 2],
];

/** A GIF89a with the given screen, optional global palette (2^n colours) and frames. */
export function encodeTestGif(
  screen: { width: number; height: number; globalPalette?: number[] },
  frames: TestGifFrame[],
  extraBeforeFirstFrame: number[] = [],
): Uint8Array {
  const bitsOf = (pal: number[]) => Math.log2(pal.length / 3);
  const out: number[] = [0x47, 0x49, 0x46, 0x38, 0x39, 0x61];
  const u16 = (v: number) => [v & 255, v >> 8];
  out.push(...u16(screen.width), ...u16(screen.height));
  const gp = screen.globalPalette;
  out.push(gp ? 0x80 | (bitsOf(gp) - 1) : 0, 0, 0);
  if (gp) out.push(...gp);
  frames.forEach((f, i) => {
    if (f.transparentIndex !== undefined) out.push(0x21, 0xf9, 4, 1, 0, 0, f.transparentIndex, 0);
    if (i === 0) out.push(...extraBeforeFirstFrame);
    let flags = f.interlaced ? 0x40 : 0;
    if (f.localPalette) flags |= 0x80 | (bitsOf(f.localPalette) - 1);
    out.push(0x2c, ...u16(f.left), ...u16(f.top), ...u16(f.width), ...u16(f.height), flags);
    if (f.localPalette) out.push(...f.localPalette);
    let stream = f.indices;
    if (f.interlaced) {
      stream = [];
      for (const [start, step] of INTERLACE_PASSES) {
        for (let y = start; y < f.height; y += step)
          stream.push(...f.indices.slice(y * f.width, (y + 1) * f.width));
      }
    }
    const pal = f.localPalette ?? gp ?? [];
    out.push(...lzwFixed(stream, Math.max(2, pal.length ? bitsOf(pal) : 8)));
  });
  out.push(0x3b);
  return Uint8Array.from(out);
}
