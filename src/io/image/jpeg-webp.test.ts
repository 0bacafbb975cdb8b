// JPEG and WebP against Pillow's own output on tiny files Pillow wrote (src/testing/pillow-samples.ts).
// libjpeg-turbo and libwebp are the libraries Pillow uses, so those match exactly; CMYK JPEGs go through
// jpeg-js (see jpeg.ts) and may differ by a level or two.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PILLOW_SAMPLES } from "../../testing/pillow-samples.js";
import { decodeImage } from "./decode.js";
import { readImageHeader } from "./header.js";

async function compare(name: string): Promise<{ worst: number; differ: number; total: number }> {
  const s = PILLOW_SAMPLES[name]!;
  const img = await decodeImage(Buffer.from(s.file, "base64"), { source: name });
  assert.equal(`${img.width}x${img.height}`, `${s.width}x${s.height}`, `${name}: size`);
  const expected = Buffer.from(s.rgb, "base64");
  let worst = 0;
  let differ = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(img.data[i]! - expected[i]!);
    worst = Math.max(worst, d);
    if (d) differ++;
  }
  return { worst, differ, total: expected.length };
}

test("JPEG: grey, 4:2:0 colour and EXIF-rotated files decode exactly as Pillow's", async () => {
  for (const name of ["grey.jpg", "ycbcr420.jpg", "exif6.jpg"]) {
    const r = await compare(name);
    assert.equal(r.differ, 0, `${name}: ${r.differ} values differ, up to ${r.worst}`);
  }
  // Orientation 6 would swap width and height if it were applied; Image.open does not apply it.
  const exif = PILLOW_SAMPLES["exif6.jpg"]!;
  assert.deepEqual([exif.width, exif.height], [16, 8]);
});

test("JPEG: CMYK (inverted, as Pillow reads every 4-component JPEG) within 2 levels of Pillow", async () => {
  for (const name of ["cmyk_adobe.jpg", "cmyk_noadobe.jpg"]) {
    const s = PILLOW_SAMPLES[name]!;
    const h = readImageHeader(Buffer.from(s.file, "base64"));
    assert.equal(h.components, 4);
    assert.equal(h.adobe, name === "cmyk_adobe.jpg");
    const r = await compare(name);
    assert.ok(r.worst <= 2, `${name}: up to ${r.worst} levels off`);
  }
});

test("WebP: lossy, lossy with alpha and lossless with alpha match Pillow exactly (alpha dropped)", async () => {
  for (const name of ["lossy.webp", "lossy_alpha.webp", "lossless_alpha.webp"]) {
    const r = await compare(name);
    assert.equal(r.differ, 0, `${name}: ${r.differ} values differ, up to ${r.worst}`);
  }
  // Fully transparent pixels keep the colour stored under them (lossless, saved with exact=True).
  assert.equal(PILLOW_SAMPLES["lossless_alpha.webp"]!.mode, "RGBA");
});

test("WebP: the first frame of an animation, placed at its offset on a black canvas", async () => {
  const s = PILLOW_SAMPLES["anim_offset.webp"]!;
  const h = readImageHeader(Buffer.from(s.file, "base64"));
  assert.equal(h.animated, true);
  const r = await compare("anim_offset.webp");
  assert.equal(r.differ, 0, `${r.differ} values differ, up to ${r.worst}`);
  const img = await decodeImage(Buffer.from(s.file, "base64"));
  assert.deepEqual(Array.from(img.data.subarray(0, 3)), [0, 0, 0], "outside the frame is black");
});
