/**
 * Decoders held to what the header promised: each hostile file is refused (or decoded) with a bounded amount of
 * work, a small fraction of what decoding it in full would cost, measured in the same run, and the refusal
 * names the limit. Also: the exact data size of every PNG layout passes the bound (interlaced included).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { unzlibSync } from "fflate";
import { fixture } from "../../testing/fixtures.js";
import {
  apngFrameBomb,
  gifFrameBomb,
  jpegHugeBomb,
  jpegScansBomb,
  pngIccpBomb,
  pngIdatBomb,
  webpFrameBomb,
  webpStillBomb,
  zlibZeros,
} from "../../testing/image-bombs.js";
import { encodeTestPng } from "../../testing/image-encoders.js";
import { FormatError } from "../../util/errors.js";
import { type DecodeImageOptions, decodeImage } from "./decode.js";
import { pngDataBytes } from "./png-bounds.js";

const BOMB = 32 * 1024 * 1024;

async function refusal(bytes: Uint8Array, opts: DecodeImageOptions = {}): Promise<string> {
  try {
    await decodeImage(bytes, opts);
  } catch (e) {
    assert.ok(e instanceof FormatError, `expected a FormatError, got ${String(e)}`);
    return e.message;
  }
  assert.fail("decoded a file that should have been refused");
}

/**
 * `f`'s result and its best time of three runs: the decoder's own work, not a first call's compilation or a busy
 * machine's pause (the yardstick below is timed the same way).
 */
async function timed<T>(f: () => Promise<T> | T): Promise<[T, number]> {
  let best = Number.POSITIVE_INFINITY;
  let out: T | undefined;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    out = await f();
    best = Math.min(best, performance.now() - t0);
  }
  return [out as T, best];
}

const fullStream = zlibZeros(BOMB);

/**
 * `f`'s result, its time and the yardstick's: inflating the bomb's stream in full, what an unbounded decoder spends
 * before it could check. The two are timed in turn, three times, and the best of each kept, so both see the same
 * machine: a first call's compilation or a busy moment does not land on one side only.
 */
async function againstFullInflate<T>(f: () => Promise<T>): Promise<[T, number, number]> {
  let ms = Number.POSITIVE_INFINITY;
  let full = Number.POSITIVE_INFINITY;
  let out: T | undefined;
  for (let i = 0; i < 3; i++) {
    let t0 = performance.now();
    assert.equal(unzlibSync(fullStream).length, BOMB);
    full = Math.min(full, performance.now() - t0);
    t0 = performance.now();
    out = await f();
    ms = Math.min(ms, performance.now() - t0);
  }
  return [out as T, ms, full];
}

test("PNG: image data inflating past what IHDR needs is refused early, naming the size", async () => {
  const bomb = pngIdatBomb(BOMB);
  const [msg, ms, full] = await againstFullInflate(() => refusal(bomb, { source: "bomb.png" }));
  assert.match(
    msg,
    /^bomb\.png: the PNG's image data inflates to more than the 4 bytes its 1×1 8-bit RGB header needs/,
  );
  assert.ok(ms < full / 4, `refused in ${ms.toFixed(1)} ms; inflating it all takes ${full.toFixed(1)} ms`);
});

test("PNG: a colour profile inflating past 1 MiB is refused; a smaller one is ignored; APNG frames are never inflated", async () => {
  // Each file is made before the clock starts: only the decoder's work is timed.
  const iccp = pngIccpBomb(BOMB);
  const [msg, ms, full] = await againstFullInflate(() => refusal(iccp, { source: "icc.png" }));
  assert.match(msg, /^icc\.png: the PNG's iCCP chunk inflates to more than 1048576 bytes/);
  assert.ok(ms < full / 4, `refused in ${ms.toFixed(1)} ms; inflating it all takes ${full.toFixed(1)} ms`);
  const ok = await decodeImage(pngIccpBomb(512 * 1024));
  assert.deepEqual([...ok.data], [10, 20, 30]);
  // The default image of an APNG is what Pillow shows; the bomb in its second frame is skipped unread.
  const apng = apngFrameBomb(BOMB);
  const [img, apngMs, fullFrame] = await againstFullInflate(() => decodeImage(apng));
  assert.deepEqual([img.width, img.height, ...img.data], [1, 1, 10, 20, 30]);
  assert.ok(
    apngMs < fullFrame / 4,
    `decoded in ${apngMs.toFixed(1)} ms; inflating the frame takes ${fullFrame.toFixed(1)} ms`,
  );
});

test("PNG: every layout's exact data size passes the bound (depths, colour types, Adam7 at odd sizes)", async () => {
  for (const [width, height] of [
    [1, 1],
    [5, 3],
    [9, 10],
    [17, 2],
  ] as const) {
    for (const [colorType, depth, channels] of [
      [0, 1, 1],
      [0, 4, 1],
      [2, 8, 3],
      [6, 16, 4],
      [3, 2, 1],
    ] as const) {
      const max = (1 << depth) - 1;
      const samples = Array.from({ length: width * height * channels }, (_, i) => (i * 7) % (max + 1));
      const plte = colorType === 3 ? [0, 0, 0, 50, 60, 70, 100, 110, 120, 200, 210, 220] : undefined;
      // fast-png reads Adam7 only at 8 and 16 bits.
      for (const interlaced of depth >= 8 ? [false, true] : [false]) {
        const png = encodeTestPng({ width, height, depth, colorType, samples, plte, interlaced });
        const what = `${width}×${height} type ${colorType} depth ${depth}${interlaced ? " Adam7" : ""}`;
        const img = await decodeImage(png, { source: what });
        assert.equal(img.width, width, what);
        if (interlaced) {
          // Same pixels as the plain encoding: the interlaced data was read whole, and no more.
          const plain = await decodeImage(encodeTestPng({ width, height, depth, colorType, samples, plte }));
          assert.deepEqual(img.data, plain.data, what);
        }
      }
      assert.equal(
        pngDataBytes(width, height, depth, colorType, 0),
        height * (1 + Math.ceil((width * channels * depth) / 8)),
      );
    }
  }
  // One extra inflated byte is one too many.
  const png = encodeTestPng({ width: 2, height: 2, depth: 8, colorType: 2, samples: new Array(12).fill(9) });
  const exact = await decodeImage(png);
  assert.equal(exact.width, 2);
  const over = pngIdatBomb(pngDataBytes(1, 1, 8, 2, 0) + 1);
  assert.match(await refusal(over), /inflates to more than the 4 bytes/);
});

test("WebP: image data declaring more than its canvas or frame is refused before libwebp runs", async () => {
  assert.match(
    await refusal(webpFrameBomb(8192), { source: "anim.webp" }),
    /^anim\.webp: the WebP's first frame is 16×16 but its image data declares 8192×8192; refused before decoding/,
  );
  assert.match(
    await refusal(webpStillBomb(8192), { source: "still.webp" }),
    /^still\.webp: the WebP's canvas is 16×16 but its image data declares 8192×8192/,
  );
});

test("GIF and JPEG: frames and frame headers over the pixel limit are refused from the header", async () => {
  assert.match(
    await refusal(gifFrameBomb(), { source: "g.gif" }),
    /^g\.gif: GIF image is 65535×65535 = 4294\.8 megapixels, over the limit of 50 megapixels/,
  );
  assert.match(
    await refusal(jpegHugeBomb(), { source: "j.jpg" }),
    /^j\.jpg: JPEG image is 65000×65000 = 4225\.0 megapixels, over the limit of 50 megapixels/,
  );
});

test("JPEG: more scans than the limit are refused before libjpeg runs; a normal file decodes", async () => {
  const jpg = new Uint8Array(readFileSync(fixture("preprocess", "portrait_photo.jpg")));
  const [normal, normalMs] = await timed(() => decodeImage(jpg));
  assert.equal(normal.width, 64);
  const scans = jpegScansBomb(jpg, 500);
  const [msg, ms] = await timed(() => refusal(scans, { source: "scans.jpg" }));
  assert.match(msg, /^scans\.jpg: the JPEG has 501 scans, over the limit of 100/);
  assert.ok(
    ms < normalMs * 4 + 5,
    `refused in ${ms.toFixed(1)} ms; a normal decode takes ${normalMs.toFixed(1)} ms`,
  );
  // At the limit it is libjpeg's to judge (these scans are not valid for a baseline file).
  assert.doesNotMatch(await refusal(jpegScansBomb(jpg, 99)), /over the limit/);
});
