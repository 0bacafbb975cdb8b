/**
 * TEST-ONLY: hostile image files, each small on the wire and huge once decoded, for the decoder bounds and the
 * server's hostile-input suite: PNG image data and colour profiles that inflate far past what the header
 * needs, an APNG frame that does, WebP bitstreams larger than their container says, and GIF and JPEG headers
 * over any pixel limit.
 */
import { deflateSync } from "node:zlib";
import { concat, encodeTestPng, pngChunk } from "./image-encoders.js";

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const zeros = new Map<number, Uint8Array>();

/** A zlib stream of `n` zero bytes (~1000:1), cached: the same bomb is sent many times. */
export function zlibZeros(n: number): Uint8Array {
  let z = zeros.get(n);
  if (!z) {
    z = new Uint8Array(deflateSync(new Uint8Array(n), { level: 9 }));
    zeros.set(n, z);
  }
  return z;
}

function ihdr(width: number, height: number): Uint8Array {
  const d = new Uint8Array(13);
  const dv = new DataView(d.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  d.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlacing
  return pngChunk("IHDR", d);
}

/** A 1×1 RGB PNG whose IDAT inflates to `inflated` bytes (it needs 4). */
export function pngIdatBomb(inflated: number): Uint8Array {
  return concat([
    PNG_SIGNATURE,
    ihdr(1, 1),
    pngChunk("IDAT", zlibZeros(inflated)),
    pngChunk("IEND", new Uint8Array(0)),
  ]);
}

/** A valid 1×1 PNG with an iCCP colour profile that inflates to `inflated` bytes. */
export function pngIccpBomb(inflated: number): Uint8Array {
  const png = encodeTestPng({ width: 1, height: 1, depth: 8, colorType: 2, samples: [10, 20, 30] });
  const iccp = concat([new TextEncoder().encode("icc\0\0"), zlibZeros(inflated)]);
  // After the signature and IHDR (33 bytes), as encoders place it.
  return concat([png.subarray(0, 33), pngChunk("iCCP", iccp), png.subarray(33)]);
}

/** A valid 1×1 APNG whose second frame (fdAT) inflates to `inflated` bytes. */
export function apngFrameBomb(inflated: number): Uint8Array {
  const png = encodeTestPng({ width: 1, height: 1, depth: 8, colorType: 2, samples: [10, 20, 30] });
  const u32 = (...v: number[]) => {
    const b = new Uint8Array(v.length * 4);
    for (const [i, x] of v.entries()) new DataView(b.buffer).setUint32(i * 4, x);
    return b;
  };
  const actl = pngChunk("acTL", u32(2, 0));
  const fctl = (seq: number) =>
    pngChunk("fcTL", concat([u32(seq, 1, 1, 0, 0), Uint8Array.of(0, 1, 0, 10, 0, 0)]));
  const iend = png.length - 12;
  return concat([
    png.subarray(0, 33),
    actl,
    fctl(0),
    png.subarray(33, iend), // IDAT: frame 0
    fctl(1),
    pngChunk("fdAT", concat([u32(2), zlibZeros(inflated)])),
    png.subarray(iend),
  ]);
}

function riff(chunks: Uint8Array[]): Uint8Array {
  const body = concat([new TextEncoder().encode("WEBP"), ...chunks]);
  const head = new Uint8Array(8);
  head.set(new TextEncoder().encode("RIFF"));
  new DataView(head.buffer).setUint32(4, body.length, true);
  return concat([head, body]);
}

function webpChunk(tag: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length + (payload.length & 1));
  out.set(new TextEncoder().encode(tag));
  new DataView(out.buffer).setUint32(4, payload.length, true);
  out.set(payload, 8);
  return out;
}

/** The start of a VP8L (lossless) bitstream declaring `w`×`h`, then a little filler. */
function vp8l(w: number, h: number): Uint8Array {
  const b = new Uint8Array(64);
  b[0] = 0x2f;
  new DataView(b.buffer).setUint32(1, ((w - 1) | ((h - 1) << 14)) >>> 0, true);
  return webpChunk("VP8L", b);
}

function vp8x(w: number, h: number, flags: number): Uint8Array {
  const p = new Uint8Array(10);
  p[0] = flags;
  p.set(
    [(w - 1) & 255, ((w - 1) >> 8) & 255, (w - 1) >> 16, (h - 1) & 255, ((h - 1) >> 8) & 255, (h - 1) >> 16],
    4,
  );
  return webpChunk("VP8X", p);
}

/** An animated 16×16 WebP whose first 16×16 frame holds a bitstream declaring `size`×`size`. */
export function webpFrameBomb(size = 8192): Uint8Array {
  const anmf = new Uint8Array(16);
  anmf.set([0, 0, 0, 0, 0, 0, 15, 0, 0, 15, 0, 0, 100, 0, 0, 0]); // at 0,0; 16×16; 100 ms
  return riff([
    vp8x(16, 16, 0x02),
    webpChunk("ANIM", new Uint8Array(6)),
    webpChunk("ANMF", concat([anmf, vp8l(size, size)])),
  ]);
}

/** A still 16×16 VP8X WebP whose image data declares `size`×`size`. */
export function webpStillBomb(size = 8192): Uint8Array {
  return riff([vp8x(16, 16, 0), vp8l(size, size)]);
}

/** A GIF with a 16×16 screen and a first frame of 65535×65535 (a few bytes of LZW data). */
export function gifFrameBomb(): Uint8Array {
  return Uint8Array.from([
    ...[0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 16, 0, 16, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255],
    ...[0x2c, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0],
    ...[2, 2, 0x4c, 0x01, 0], // LZW: clear, end
    0x3b,
  ]);
}

/** A JPEG whose frame header says 65000×65000 (baseline, three components), with a token scan. */
export function jpegHugeBomb(): Uint8Array {
  return Uint8Array.from([
    ...[0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0xfd, 0xe8, 0xfd, 0xe8, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1],
    ...[0xff, 0xda, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3f, 0, 0, 0, 0xff, 0xd9],
  ]);
}

/** `jpeg` with `scans` extra (empty) scans before its end: progressive-style work for the decoder. */
export function jpegScansBomb(jpeg: Uint8Array, scans: number): Uint8Array {
  // A DC-only refinement scan of component 1 (Ss = Se = 0, Ah = 1, Al = 0) with one byte of data.
  const scan = [0xff, 0xda, 0, 8, 1, 1, 0, 0, 0, 0x10, 0x00];
  const extra = new Uint8Array(scans * scan.length);
  for (let i = 0; i < scans; i++) extra.set(scan, i * scan.length);
  return concat([jpeg.subarray(0, jpeg.length - 2), extra, jpeg.subarray(jpeg.length - 2)]);
}
