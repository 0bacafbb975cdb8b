// GIF first frame → RGB, with Pillow's rules (see gif.ts and gif-layout.ts), on files from the test
// encoder, plus one file Pillow wrote against Pillow's own output.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeTestGif } from "../../testing/image-encoders.js";
import { PILLOW_SAMPLES } from "../../testing/pillow-samples.js";
import { decodeImage } from "./decode.js";

const PAL = [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]; // black, red, green, blue
const LOCAL = [9, 9, 9, 200, 100, 50, 1, 2, 3, 60, 70, 80];
const px = (pal: number[], ...idx: number[]) => idx.flatMap((i) => pal.slice(i * 3, i * 3 + 3));

async function decode(bytes: Uint8Array) {
  const img = await decodeImage(bytes, { source: "t.gif" });
  return { w: img.width, h: img.height, rgb: Array.from(img.data) };
}

test("a full-screen frame maps every index through the global palette", async () => {
  const gif = encodeTestGif({ width: 3, height: 2, globalPalette: PAL }, [
    { left: 0, top: 0, width: 3, height: 2, indices: [0, 1, 2, 3, 2, 1] },
  ]);
  assert.deepEqual(await decode(gif), { w: 3, h: 2, rgb: px(PAL, 0, 1, 2, 3, 2, 1) });
});

test("a smaller frame sits at its offset; the rest is palette colour 0, or the transparency colour", async () => {
  const frame = { left: 1, top: 1, width: 2, height: 1, indices: [1, 3] };
  const plain = encodeTestGif({ width: 4, height: 2, globalPalette: PAL }, [frame]);
  assert.deepEqual((await decode(plain)).rgb, px(PAL, 0, 0, 0, 0, 0, 1, 3, 0));
  // With a transparency index the canvas starts as that index, and transparent pixels in the frame keep
  // their palette colour too (Pillow does not composite the first frame).
  const trns = encodeTestGif({ width: 4, height: 2, globalPalette: PAL }, [
    { ...frame, indices: [2, 1], transparentIndex: 2 },
  ]);
  assert.deepEqual((await decode(trns)).rgb, px(PAL, 2, 2, 2, 2, 2, 2, 1, 2));
});

test("a local palette wins; the screen grows to hold a frame that sticks out; stray bytes are skipped", async () => {
  const gif = encodeTestGif(
    { width: 2, height: 1, globalPalette: PAL },
    [{ left: 1, top: 0, width: 2, height: 2, indices: [1, 2, 3, 0], localPalette: LOCAL }],
    [0x00, 0x00],
  );
  assert.deepEqual(await decode(gif), { w: 3, h: 2, rgb: px(LOCAL, 0, 1, 2, 0, 3, 0) });
});

test("an identity grey-ramp palette means greyscale; no palette at all too", async () => {
  const ramp = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3];
  const gif = encodeTestGif({ width: 4, height: 1, globalPalette: ramp }, [
    { left: 0, top: 0, width: 4, height: 1, indices: [3, 0, 2, 1] },
  ]);
  assert.deepEqual((await decode(gif)).rgb, [3, 3, 3, 0, 0, 0, 2, 2, 2, 1, 1, 1]);
  const none = encodeTestGif({ width: 2, height: 1 }, [
    { left: 0, top: 0, width: 2, height: 1, indices: [200, 7] },
  ]);
  assert.deepEqual((await decode(none)).rgb, [200, 200, 200, 7, 7, 7]);
});

test("interlaced frames are put back in row order; only the first frame is read", async () => {
  const indices = Array.from({ length: 4 * 9 }, (_, i) => Math.floor(i / 4) % 4);
  const second = { left: 0, top: 0, width: 4, height: 9, indices: indices.map(() => 1) };
  const gif = encodeTestGif({ width: 4, height: 9, globalPalette: PAL }, [
    { left: 0, top: 0, width: 4, height: 9, indices, interlaced: true },
    second,
  ]);
  assert.deepEqual((await decode(gif)).rgb, px(PAL, ...indices));
});

test("a GIF written by Pillow decodes exactly as Pillow reads it", async () => {
  const s = PILLOW_SAMPLES["pillow_trns_interlaced.gif"]!;
  const img = await decodeImage(Buffer.from(s.file, "base64"));
  assert.deepEqual([img.width, img.height], [s.width, s.height]);
  assert.deepEqual(Buffer.from(img.data), Buffer.from(s.rgb, "base64"));
});

test("a frame whose data is cut off is refused", async () => {
  const gif = encodeTestGif({ width: 3, height: 2, globalPalette: PAL }, [
    { left: 0, top: 0, width: 3, height: 2, indices: [0, 1, 2, 3, 2, 1] },
  ]);
  await assert.rejects(
    decodeImage(gif.subarray(0, gif.length - 4), { source: "cut.gif" }),
    /^FormatError: cut\.gif: corrupt or truncated GIF header: the first frame's data is cut off/,
  );
});
