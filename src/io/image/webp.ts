/**
 * WebP → RGB as `Image.open(f).convert("RGB")` gives it. Pillow decodes every WebP with libwebp's
 * animation decoder (non-premultiplied RGBA) and shows the first frame; RGB drops the alpha channel, keeping
 * whatever colour the decoder left under transparent pixels.
 * - Still images (VP8, VP8L, or VP8X with ALPH): libwebp (jSquash's WebAssembly build) decodes the file.
 * - Animations: the first frame is placed on a canvas of transparent black at its offset, with no blending
 *   (libwebp's animation decoder starts from a zeroed canvas and the first frame is a key frame), so the
 *   area the frame does not cover is black. The frame's own chunks are wrapped in a still WebP to decode.
 */
import decodeWasm, { init as initWasm } from "@jsquash/webp/decode.js";
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

async function decodeStill(bytes: Uint8Array): Promise<RgbImage> {
  const { image } = await codec.run(bytes);
  return rgbaToRgb(image);
}

export async function decodeWebp(
  bytes: Uint8Array,
  header: { width: number; height: number; animated?: boolean },
): Promise<RgbImage> {
  if (!header.animated) return decodeStill(bytes);
  const riffEnd = 8 + new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  const frame = chunks(bytes, 12, riffEnd).find((c) => c.tag === "ANMF");
  if (!frame) throw new Error("animated WebP without any frame (ANMF chunk)");
  const f = frame.payload;
  if (f.length < 16) throw new Error("the first ANMF chunk is too short");
  const left = 2 * u24(f, 0);
  const top = 2 * u24(f, 3);
  const fw = u24(f, 6) + 1;
  const fh = u24(f, 9) + 1;
  const { width: W, height: H } = header;
  // libwebp refuses a frame that does not fit the canvas, and so does Pillow.
  if (left + fw > W || top + fh > H) {
    throw new Error(`the first frame (${fw}×${fh} at ${left},${top}) does not fit the ${W}×${H} canvas`);
  }
  const sub = await decodeStill(stillWebp(chunks(f, 16, f.length), fw, fh));
  if (sub.width !== fw || sub.height !== fh) {
    throw new Error(`first frame decodes to ${sub.width}×${sub.height}, its header says ${fw}×${fh}`);
  }
  const out = new Uint8Array(W * H * 3); // transparent black → RGB (0, 0, 0)
  for (let y = 0; y < fh; y++)
    out.set(sub.data.subarray(y * fw * 3, (y + 1) * fw * 3), ((top + y) * W + left) * 3);
  return { width: W, height: H, data: out };
}
