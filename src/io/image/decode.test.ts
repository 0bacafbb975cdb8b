// decodeImage: the fixture images against the reference decoder's `decoded_rgb`, and the refusals
// (unknown format, truncation, corruption, pixel limit) with errors that name the file.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fixture } from "../../testing/fixtures.js";
import { encodeTestGif, encodeTestPng } from "../../testing/image-encoders.js";
import { readTestSafetensors, testTensor } from "../../testing/image-goldens.js";
import { PILLOW_SAMPLES } from "../../testing/pillow-samples.js";
import { FormatError, UsageError } from "../../util/errors.js";
import { decodeImage } from "./decode.js";
import { readImageHeader } from "./header.js";

interface ManifestImage {
  key: string;
  file: string;
  format: string;
  width: number;
  height: number;
}

// PNG is lossless: exact. JPEG: the README allows decoders to differ slightly; ours is libjpeg-turbo, as
// Pillow's is, and in practice matches exactly, but we assert the README's allowance: no value more than
// 2 levels off and at most 1% of the values different at all.
for (const dir of ["preprocess", "preprocess-clip"]) {
  test(`${dir}/: every image decodes to the golden decoded_rgb`, async () => {
    const manifest = JSON.parse(readFileSync(fixture(dir, "manifest.json"), "utf8")) as {
      images: ManifestImage[];
    };
    const golden = readTestSafetensors(fixture(dir, "golden.safetensors"));
    assert.ok(manifest.images.length >= 3);
    for (const im of manifest.images) {
      const img = await decodeImage(readFileSync(fixture(dir, im.file)), { source: im.file });
      const expected = testTensor(golden, `${im.key}.decoded_rgb`);
      assert.deepEqual(expected.shape, [im.height, im.width, 3]);
      assert.equal(`${img.width}x${img.height}`, `${im.width}x${im.height}`, im.file);
      let differ = 0;
      let worst = 0;
      for (let i = 0; i < expected.data.length; i++) {
        const d = Math.abs(img.data[i]! - expected.data[i]!);
        if (d > 0) differ++;
        worst = Math.max(worst, d);
      }
      if (im.format === "JPEG") {
        assert.ok(worst <= 2, `${im.file}: a value is ${worst} levels off (allowed 2)`);
        assert.ok(differ <= expected.data.length / 100, `${im.file}: ${differ} values differ (allowed 1%)`);
      } else {
        assert.equal(differ, 0, `${im.file}: ${differ} values differ, up to ${worst} levels`);
      }
    }
  });
}

async function refusal(bytes: Uint8Array, opts: { maxPixels?: number; source?: string }): Promise<string> {
  try {
    await decodeImage(bytes, opts);
  } catch (e) {
    assert.ok(e instanceof FormatError, `expected a FormatError, got ${e}`);
    return e.message;
  }
  assert.fail("the image was accepted");
}

test("unknown, empty and unsupported formats are refused by name", async () => {
  const bmp = Uint8Array.from([0x42, 0x4d, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.match(
    await refusal(bmp, { source: "a.bmp" }),
    /^a\.bmp: BMP images are not supported \(expected PNG, JPEG/,
  );
  assert.match(await refusal(new Uint8Array(0), { source: "e.png" }), /^e\.png: the file is empty/);
  const junk = new TextEncoder().encode("just some text, not an image");
  assert.match(
    await refusal(junk, { source: "x.jpg" }),
    /^x\.jpg: not a PNG, JPEG, WebP or GIF image \(the file starts with 6a 75/,
  );
  assert.match(
    await refusal(junk, {}),
    /^image: /,
    "without a source the message still says what it is about",
  );
});

test("truncated files of every format are refused and named", async () => {
  const files: [string, Uint8Array][] = [
    ["landscape_rgb.png", readFileSync(fixture("preprocess", "landscape_rgb.png"))],
    ["portrait_photo.jpg", readFileSync(fixture("preprocess", "portrait_photo.jpg"))],
    ["lossy.webp", Buffer.from(PILLOW_SAMPLES["lossy.webp"]!.file, "base64")],
    ["pillow.gif", Buffer.from(PILLOW_SAMPLES["pillow_trns_interlaced.gif"]!.file, "base64")],
  ];
  for (const [name, bytes] of files) {
    for (const keep of [0.05, 0.3, 0.6, 0.9]) {
      const cut = bytes.subarray(0, Math.floor(bytes.length * keep));
      const msg = await refusal(cut, { source: name });
      assert.ok(msg.startsWith(`${name}: `), msg);
      assert.match(msg, /corrupt or truncated/, msg);
    }
  }
  // A JPEG that only lacks its last bytes: libjpeg would pad it with grey; Pillow (and we) refuse it.
  const jpg = readFileSync(fixture("preprocess", "portrait_photo.jpg"));
  assert.match(await refusal(jpg.subarray(0, jpg.length - 2), { source: "p.jpg" }), /truncated/);
});

test("corrupt data is a FormatError, and the wasm decoder works again afterwards", async () => {
  const jpg = readFileSync(fixture("preprocess", "portrait_photo.jpg"));
  const bad = new Uint8Array(jpg);
  // Break the quantisation table marker's table index (libjpeg: "Bogus DQT index").
  const dqt = bad.findIndex((v, i) => v === 0xff && bad[i + 1] === 0xdb);
  bad[dqt + 4] = 0x0f;
  assert.match(
    await refusal(bad, { source: "bad.jpg" }),
    /^bad\.jpg: corrupt or truncated JPEG file \(.*DQT/,
  );
  const png = new Uint8Array(readFileSync(fixture("preprocess", "small_gray.png")));
  png[40] ^= 0xff; // inside IDAT: the CRC no longer matches
  assert.match(await refusal(png, { source: "bad.png" }), /^bad\.png: corrupt or truncated PNG file/);
  const again = await decodeImage(jpg);
  assert.equal(again.width, 64);
  // Concurrent decodes through the same wasm instance each get their own result.
  const all = await Promise.all(
    [jpg, jpg, bad, jpg].map((b) =>
      decodeImage(b).then(
        (i) => i.width,
        () => -1,
      ),
    ),
  );
  assert.deepEqual(all, [64, 64, -1, 64]);
});

test("images over the pixel limit are refused from the header, before decoding", async () => {
  // Each of these is only a header: no pixel data follows, so decoding would fail; the refusal must be
  // about the size.
  const pngHeader = encodeTestPng({
    width: 1,
    height: 1,
    depth: 8,
    colorType: 2,
    samples: [0, 0, 0],
  }).subarray(0, 33);
  new DataView(pngHeader.buffer, pngHeader.byteOffset).setUint32(16, 10000); // IHDR width
  new DataView(pngHeader.buffer, pngHeader.byteOffset).setUint32(20, 6000); // IHDR height
  const jpegHeader = Uint8Array.from([
    0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0x17, 0x70, 0x27, 0x10, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff,
    0xda, 0, 8,
  ]); // SOF0 6000×10000, then the start of a scan
  const webpHeader = new Uint8Array(30);
  webpHeader.set(new TextEncoder().encode("RIFF\u0016\u0000\u0000\u0000WEBPVP8X\n\u0000\u0000\u0000"));
  webpHeader.set([0, 0, 0, 0, 0x0f, 0x27, 0x00, 0x6f, 0x17, 0x00], 20); // canvas 10000×6000
  const gifHeader = encodeTestGif({ width: 10000, height: 6000 }, []).subarray(0, 13);
  for (const [name, bytes] of [
    ["big.png", pngHeader],
    ["big.jpg", jpegHeader],
    ["big.webp", webpHeader],
    ["big.gif", gifHeader],
  ] as const) {
    if (!name.endsWith(".gif")) {
      const h = readImageHeader(bytes, name);
      assert.deepEqual([h.width, h.height], [10000, 6000]);
    }
    const msg = await refusal(bytes, { source: name });
    if (name === "big.gif") {
      // A GIF's size is only final at the first frame (Pillow grows the screen to fit it), so a header
      // without any frame is refused as truncated instead.
      assert.match(msg, /no image before the end of the file/);
    } else {
      assert.match(
        msg,
        new RegExp(
          `^${name.replace(".", "\\.")}: .* image is 10000×6000 = 60\\.0 megapixels, over the limit of 50 megapixels`,
        ),
      );
    }
  }
  // A whole GIF with a big screen and a tiny frame is refused on the screen size.
  const gif = encodeTestGif({ width: 10000, height: 6000, globalPalette: [0, 0, 0, 255, 255, 255] }, [
    { left: 0, top: 0, width: 1, height: 1, indices: [1] },
  ]);
  assert.match(await refusal(gif, { source: "big.gif" }), /10000×6000 = 60\.0 megapixels/);
  // The limit is configurable both ways.
  const png = readFileSync(fixture("preprocess", "landscape_rgb.png")); // 120×80 = 9600 pixels
  assert.match(
    await refusal(png, { maxPixels: 9599, source: "l.png" }),
    /over the limit of 0\.009599 megapixels/,
  );
  assert.equal((await decodeImage(png, { maxPixels: 9600 })).width, 120);
  await assert.rejects(decodeImage(png, { maxPixels: 0 }), UsageError);
});
