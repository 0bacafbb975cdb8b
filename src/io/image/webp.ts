/**
 * WebP → RGB as `Image.open(f).convert("RGB")` gives it. Pillow decodes every WebP with libwebp's
 * animation decoder (non-premultiplied RGBA) and shows the first frame; RGB drops the alpha channel, keeping
 * whatever colour the decoder left under transparent pixels.
 * - Still images (VP8, VP8L, or VP8X with ALPH): libwebp (jSquash's WebAssembly build) decodes the file.
 * - Animations: the first frame is placed on a canvas of transparent black at its offset, with no blending
 *   (libwebp's animation decoder starts from a zeroed canvas and the first frame is a key frame), so the
 *   area the frame does not cover is black. The frame's own chunks are wrapped in a still WebP to decode.
 * - Before libwebp runs, the bitstream's own size must match the canvas (still) or the frame's rectangle
 *   (animation), so a small container cannot smuggle in a huge image.
 */
import decodeWasm, { init as initWasm } from "@jsquash/webp/decode.js";
import { FormatError } from "../../util/errors.js";
import type { RgbImage } from "./rgb-image.js";
import { type DecodedRgba, rgbaToRgb, WasmCodec } from "./wasm-codec.js";

const codec = new WasmCodec<[]>(
  "@jsquash/webp/codec/dec/webp_dec.wasm",
  // The package's init also takes a precompiled module first (its .d.ts only declares the options).
  initWasm as unknown as (module: WebAssembly.Module | undefined, overrides: object) => Promise<void>,
  (buffer) => decodeWasm(buffer) as Promise<DecodedRgba>,
);

interface Chunk {
  tag: string;
  /** The whole chunk: tag, size, payload and padding. */
  bytes: Uint8Array;
  payload: Uint8Array;
}

function chunks(b: Uint8Array, from: number, to: number): Chunk[] {
  const out: Chunk[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = from;
  while (p + 8 <= to) {
    const tag = String.fromCharCode(...b.subarray(p, p + 4));
    const size = dv.getUint32(p + 4, true);
    const end = p + 8 + size;
    if (end > to) throw new Error(`chunk ${JSON.stringify(tag)} runs past the end of its container`);
    out.push({ tag, bytes: b.subarray(p, end + (size & 1)), payload: b.subarray(p + 8, end) });
    p = end + (size & 1);
  }
  return out;
}

function u24(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
}

/** A still WebP file around the frame chunks of one ANMF (ALPH + VP8, or VP8 / VP8L alone). */
function stillWebp(frameChunks: Chunk[], width: number, height: number): Uint8Array {
  const parts: Uint8Array[] = [];
  if (frameChunks.some((c) => c.tag === "ALPH")) {
    // VP8X with the alpha flag and the frame's size, needed to carry an ALPH chunk.
    const vp8x = new Uint8Array(18);
    vp8x.set([0x56, 0x50, 0x38, 0x58, 10, 0, 0, 0, 0x10]);
    const w = width - 1;
    const h = height - 1;
    vp8x.set([w & 255, (w >> 8) & 255, (w >> 16) & 255, h & 255, (h >> 8) & 255, (h >> 16) & 255], 12);
    parts.push(vp8x);
  }
  for (const c of frameChunks)
    if (c.tag === "ALPH" || c.tag === "VP8 " || c.tag === "VP8L") parts.push(c.bytes);
  const body = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(12 + body);
  out.set([0x52, 0x49, 0x46, 0x46]);
  new DataView(out.buffer).setUint32(4, 4 + body, true);
  out.set([0x57, 0x45, 0x42, 0x50], 8);
  let p = 12;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/** The size a VP8 or VP8L bitstream declares (what libwebp allocates for), or null for another chunk. */
function bitstreamSize(c: Chunk): { width: number; height: number } | null {
  const b = c.payload;
  if (c.tag === "VP8 ") {
    if (b.length < 10 || b[3] !== 0x9d || b[4] !== 0x01 || b[5] !== 0x2a)
      throw new Error("bad VP8 start code");
    return { width: (b[6]! | (b[7]! << 8)) & 0x3fff, height: (b[8]! | (b[9]! << 8)) & 0x3fff };
  }
  if (c.tag === "VP8L") {
    if (b.length < 5 || b[0] !== 0x2f) throw new Error("bad VP8L signature");
    const bits = (b[1]! | (b[2]! << 8) | (b[3]! << 16) | (b[4]! << 24)) >>> 0;
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  return null;
}

/**
 * Refuses image data whose bitstream declares another size than its container (the VP8X canvas, or an
 * animation frame's rectangle) before libwebp allocates for it: the container's size is what the pixel limit
 * was checked against.
 */
function checkBitstream(list: Chunk[], width: number, height: number, what: string): void {
  const image = list.find((c) => c.tag === "VP8 " || c.tag === "VP8L");
  if (!image) throw new Error(`${what} has no image data (VP8 or VP8L chunk)`);
  const size = bitstreamSize(image)!;
  if (size.width !== width || size.height !== height)
    throw new FormatError(
      `the WebP's ${what} is ${width}×${height} but its image data declares ` +
        `${size.width}×${size.height}; refused before decoding`,
    );
}

async function decodeStill(bytes: Uint8Array): Promise<RgbImage> {
  const { image } = await codec.run(bytes);
  return rgbaToRgb(image);
}

export async function decodeWebp(
  bytes: Uint8Array,
  header: { width: number; height: number; animated?: boolean },
): Promise<RgbImage> {
  const riffEnd = 8 + new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  const top = chunks(bytes, 12, riffEnd);
  if (!header.animated) {
    // A plain VP8 or VP8L file's size was read from its bitstream; a VP8X one's from the canvas.
    if (top[0]?.tag === "VP8X") checkBitstream(top, header.width, header.height, "canvas");
    return decodeStill(bytes);
  }
  const frame = top.find((c) => c.tag === "ANMF");
  if (!frame) throw new Error("animated WebP without any frame (ANMF chunk)");
  const f = frame.payload;
  if (f.length < 16) throw new Error("the first ANMF chunk is too short");
  const left = 2 * u24(f, 0);
  const y0 = 2 * u24(f, 3);
  const fw = u24(f, 6) + 1;
  const fh = u24(f, 9) + 1;
  const { width: W, height: H } = header;
  // libwebp refuses a frame that does not fit the canvas, and so does Pillow.
  if (left + fw > W || y0 + fh > H) {
    throw new Error(`the first frame (${fw}×${fh} at ${left},${y0}) does not fit the ${W}×${H} canvas`);
  }
  const frameChunks = chunks(f, 16, f.length);
  checkBitstream(frameChunks, fw, fh, "first frame");
  const sub = await decodeStill(stillWebp(frameChunks, fw, fh));
  if (sub.width !== fw || sub.height !== fh) {
    throw new Error(`first frame decodes to ${sub.width}×${sub.height}, its header says ${fw}×${fh}`);
  }
  const out = new Uint8Array(W * H * 3); // transparent black → RGB (0, 0, 0)
  for (let y = 0; y < fh; y++)
    out.set(sub.data.subarray(y * fw * 3, (y + 1) * fw * 3), ((y0 + y) * W + left) * 3);
  return { width: W, height: H, data: out };
}
