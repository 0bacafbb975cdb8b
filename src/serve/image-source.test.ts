/** Image sources: strict base64, data: URLs, the file: allow-list (no `..` or symlink escapes), no network. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { prepareHere } from "../runtime/engine/prepare.js";
import { encodeTestPng } from "../testing/image-encoders.js";
import { RequestError } from "../util/errors.js";
import { ApiError } from "./errors.js";
import { decodeBase64, type ImageSourceOptions, imageUrlBytes } from "./image-source.js";

const png = encodeTestPng({ width: 4, height: 3, depth: 8, colorType: 2, samples: new Array(36).fill(7) });
const b64 = Buffer.from(png).toString("base64");
const limits = { maxImageBytes: 1 << 20, maxImagePixels: 1_000_000 };
const none: ImageSourceOptions = { limits, allowLocalImages: null };

const tmp = mkdtempSync(join(tmpdir(), "imp-img-src-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function refuses(p: Promise<unknown>, field: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
    assert.equal(e.status, 400);
    assert.equal(e.param, field);
    assert.match(e.message, pattern);
    return true;
  });
}

/** The engine's decoding of a request's image (runtime/engine/prepare.ts), as the server calls it. */
async function decodeRequestImage(bytes: Uint8Array, field: string, opts: { limits: typeof limits }) {
  const { image } = await prepareHere(() => 0, {
    messages: [],
    image: { bytes, field, maxPixels: opts.limits.maxImagePixels },
  });
  return image!;
}

async function refusesImage(p: Promise<unknown>, field: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RequestError, `expected a RequestError, got ${String(e)}`);
    assert.equal(e.field, field);
    assert.equal(e.code, "invalid_image");
    assert.match(e.message, pattern);
    return true;
  });
}

describe("base64", () => {
  test("accepts padded, unpadded and wrapped base64", () => {
    assert.deepEqual(decodeBase64(b64, "f", 1 << 20), png);
    assert.deepEqual(decodeBase64(b64.replace(/=+$/, ""), "f", 1 << 20), png);
    assert.deepEqual(decodeBase64(b64.replace(/(.{60})/g, "$1\n"), "f", 1 << 20), png);
  });

  test("refuses junk, misplaced padding, empty data, and too many bytes before decoding", () => {
    assert.throws(() => decodeBase64("abc$def=", "f", 100), /not valid base64/);
    assert.throws(() => decodeBase64("ab=cdefg", "f", 100), /not valid base64/);
    assert.throws(() => decodeBase64("abcde", "f", 100), /not valid base64/);
    assert.throws(() => decodeBase64("", "f", 100), /empty/);
    assert.throws(() => decodeBase64("A".repeat(200), "f", 100), /150 bytes, over the limit of 100/);
  });
});

describe("image_url", () => {
  test("a data: URL gives its bytes", async () => {
    assert.deepEqual(await imageUrlBytes(`data:image/png;base64,${b64}`, "u", none), png);
    assert.deepEqual(await imageUrlBytes(`data:;base64,${b64}`, "u", none), png);
  });

  test("non-base64 and non-image data: URLs, remote URLs and other schemes are refused", async () => {
    await refuses(imageUrlBytes("data:image/png,%89PNG", "u", none), "u", /only base64 data: URLs/);
    await refuses(imageUrlBytes(`data:text/html;base64,${b64}`, "u", none), "u", /not an image/);
    await refuses(imageUrlBytes("https://example.com/cat.png", "u", none), "u", /not fetched/);
    await refuses(imageUrlBytes("http://127.0.0.1/cat.png", "u", none), "u", /not fetched/);
    await refuses(imageUrlBytes("ftp://x/cat.png", "u", none), "u", /expected a data: URL/);
    await refuses(imageUrlBytes("cat.png", "u", none), "u", /expected a data: URL/);
  });

  test("file: URLs only with the allow-list, and only inside its folder", async () => {
    const allowed = join(tmp, "allowed");
    mkdirSync(join(allowed, "sub"), { recursive: true });
    writeFileSync(join(allowed, "sub", "a.png"), png);
    writeFileSync(join(tmp, "secret.png"), png);
    symlinkSync(join(tmp, "secret.png"), join(allowed, "link.png"));
    const url = (p: string) => pathToFileURL(p).href;
    const opts: ImageSourceOptions = { limits, allowLocalImages: allowed };

    await refuses(imageUrlBytes(url(join(allowed, "sub", "a.png")), "u", none), "u", /--allow-local-images/);
    assert.deepEqual(await imageUrlBytes(url(join(allowed, "sub", "a.png")), "u", opts), png);
    // `..` in the URL, a symlink pointing out, the folder itself, a missing file: all refused alike.
    await refuses(imageUrlBytes(`file://${allowed}/sub/../../secret.png`, "u", opts), "u", /no such image/);
    await refuses(imageUrlBytes(url(join(allowed, "link.png")), "u", opts), "u", /no such image/);
    await refuses(imageUrlBytes(url(join(tmp, "secret.png")), "u", opts), "u", /no such image/);
    await refuses(imageUrlBytes(url(allowed), "u", opts), "u", /no such image/);
    await refuses(imageUrlBytes(url(join(allowed, "nope.png")), "u", opts), "u", /no such image/);
    await refuses(imageUrlBytes(url(join(allowed, "sub")), "u", opts), "u", /not a file/);
    const small: ImageSourceOptions = { limits: { ...limits, maxImageBytes: 10 }, allowLocalImages: allowed };
    await refuses(imageUrlBytes(url(join(allowed, "sub", "a.png")), "u", small), "u", /over the limit/);
  });

  test("a local file that is not an image: the error does not show its content", async () => {
    const allowed = join(tmp, "allowed-text");
    mkdirSync(allowed, { recursive: true });
    writeFileSync(join(allowed, "notes.png"), "SECRET=hunter2\n");
    const opts: ImageSourceOptions = { limits, allowLocalImages: allowed };
    const bytes = await imageUrlBytes(pathToFileURL(join(allowed, "notes.png")).href, "u", opts);
    await assert.rejects(decodeRequestImage(bytes, "u", opts), (e: unknown) => {
      assert.ok(e instanceof RequestError);
      assert.match(e.message, /not a PNG, JPEG, WebP or GIF image/);
      // Neither the text nor its hex ("SECRET=h" is 53 45 43 52 45 54 3d 68).
      assert.doesNotMatch(e.message, /SECRET|53 45 43|starts with/);
      return true;
    });
  });
});

describe("decoding", () => {
  test("a corrupt image and one over the pixel limit are 400s naming the field", async () => {
    const img = await decodeRequestImage(png, "f", { limits });
    assert.equal(img.width, 4);
    await refusesImage(decodeRequestImage(png.slice(0, 40), "f", { limits }), "f", /.+/);
    await refusesImage(
      decodeRequestImage(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), "f", { limits }),
      "f",
      /.+/,
    );
    await refusesImage(
      decodeRequestImage(png, "f", { limits: { ...limits, maxImagePixels: 11 } }),
      "f",
      /over the limit/,
    );
  });
});
