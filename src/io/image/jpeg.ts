/**
 * JPEG → RGB as `Image.open(f).convert("RGB")` gives it.
 *
 * Grey, YCbCr and RGB JPEGs go through libjpeg-turbo (MozJPEG's decoder, compiled to WebAssembly by
 * jSquash), the library Pillow links: same integer IDCT, same "fancy" (triangular) chroma upsampling, same
 * fixed-point YCbCr → RGB, so the pixels match Pillow's exactly. Grey comes out replicated to R = G = B,
 * which is Pillow's L → RGB. EXIF orientation is NOT applied (Image.open does not apply it either).
 *
 * Four-component JPEGs are CMYK (or YCCK, which libjpeg turns into CMYK). Pillow reads every one of them as
 * Adobe-style inverted CMYK (rawmode "CMYK;I", with or without an Adobe marker) and converts to RGB with
 * R = K' − K'·C'/255 (C' and K' the stored, inverted, values; the product rounded), likewise G and B.
 * The WebAssembly build only outputs RGB, so these go through jpeg-js (pure JS), which applies the same
 * rule on the same inverted values (in floating point, truncated) but with its own IDCT and nearest-neighbour
 * chroma upsampling: expect differences of a few levels from Pillow on such files. jpeg-js wants an Adobe
 * marker to read four components; one saying "no transform" is inserted when the file has none, which is the
 * meaning Pillow and libjpeg give such files.
 *
 * Files of more than MAX_JPEG_SCANS scans are refused before decoding (a cheap way to make libjpeg busy).
 *
 * Truncated files are refused, as Pillow refuses them ("image file is truncated"), where libjpeg alone would
 * fill the missing part with grey and only warn.
 */
import decodeWasm, { init as initWasm } from "@jsquash/jpeg/decode.js";
import { decode as decodeJpegJs } from "jpeg-js";
import { FormatError } from "../../util/errors.js";
import type { RgbImage } from "./rgb-image.js";
import { type DecodedRgba, rgbaToRgb, WasmCodec } from "./wasm-codec.js";

const codec = new WasmCodec<[{ preserveOrientation: boolean }]>(
  "@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm",
  // The package's init also takes a precompiled module first (its .d.ts only declares the options).
  initWasm as unknown as (module: WebAssembly.Module | undefined, overrides: object) => Promise<void>,
  (buffer, opts) => decodeWasm(buffer, opts) as Promise<DecodedRgba>,
);

/**
 * Whether an end-of-image marker follows the first scan: 0xFF 0xD9 cannot occur inside entropy-coded data,
 * and starting at the scan skips any embedded EXIF thumbnail (a whole JPEG inside APP1).
 */
function hasEndMarker(b: Uint8Array, scanStart: number): boolean {
  for (let i = b.length - 2; i > scanStart; i--) if (b[i] === 0xff && b[i + 1] === 0xd9) return true;
  return false;
}

/**
 * Scans a JPEG may have. Each scan of a progressive file makes libjpeg walk every block of the image again,
 * so a small file of many near-empty scans costs seconds; encoders write about 10 (libjpeg's default
 * progression) and libjpeg-turbo's own fuzzing stops at 500.
 */
export const MAX_JPEG_SCANS = 100;

/** Start-of-scan markers from the first scan on (0xFF 0xDA cannot occur inside entropy-coded data). */
function countScans(b: Uint8Array, scanStart: number): number {
  let n = 0;
  for (let i = scanStart; i + 1 < b.length; i++) if (b[i] === 0xff && b[i + 1] === 0xda) n++;
  return n;
}

export async function decodeJpeg(
  bytes: Uint8Array,
  header: { width: number; height: number; components?: number; adobe?: boolean; scanStart?: number },
): Promise<RgbImage> {
  if (!hasEndMarker(bytes, header.scanStart ?? 2))
    throw new Error("the file ends before the end-of-image marker (truncated)");
  const scans = countScans(bytes, header.scanStart ?? 2);
  if (scans > MAX_JPEG_SCANS)
    throw new FormatError(
      `the JPEG has ${scans} scans, over the limit of ${MAX_JPEG_SCANS} (each one decodes the whole image again)`,
    );
  const components = header.components ?? 3;
  if (components === 4) return decodeCmyk(bytes, header);
  if (components !== 1 && components !== 3)
    throw new Error(`${components}-component JPEGs are not supported`);
  const { image, messages } = await codec.run(bytes, { preserveOrientation: false });
  // libjpeg only warns when the data runs out; Pillow treats that as a truncated file.
  const eof = messages.find((m) => /premature end of jpeg file/i.test(m));
  if (eof) throw new Error(`truncated: ${eof}`);
  return rgbaToRgb(image);
}

// An APP14 "Adobe" segment: length 14, "Adobe", version 100, flags 0 and 0, colour transform 0 (none).
const ADOBE_NO_TRANSFORM = Uint8Array.from([
  ...[0xff, 0xee, 0x00, 0x0e],
  ...[0x41, 0x64, 0x6f, 0x62, 0x65],
  ...[0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00],
]);

function decodeCmyk(bytes: Uint8Array, header: { width: number; height: number; adobe?: boolean }): RgbImage {
  let input = bytes;
  if (!header.adobe) {
    input = new Uint8Array(bytes.length + ADOBE_NO_TRANSFORM.length);
    input.set(bytes.subarray(0, 2));
    input.set(ADOBE_NO_TRANSFORM, 2);
    input.set(bytes.subarray(2), 2 + ADOBE_NO_TRANSFORM.length);
  }
  const px = header.width * header.height;
  const img = decodeJpegJs(input, {
    useTArray: true,
    formatAsRGBA: false,
    // Our own pixel limit was checked already; only keep jpeg-js's guards out of the way.
    maxResolutionInMP: Math.ceil(px / 1e6) + 1,
    maxMemoryUsageInMB: Math.ceil((px * 16) / 2 ** 20) + 64,
  });
  return { width: img.width, height: img.height, data: img.data };
}
