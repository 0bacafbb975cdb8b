// Golden tests of the preprocessing after decoding: every image of fixtures/preprocess (Imp, SigLIP) and
// fixtures/preprocess-clip (LLaVA-1.5, CLIP), starting from the golden `decoded_rgb` so the decoder is tested
// separately (decode.test.ts). Bytes must match exactly; pixel_values within 1e-6 (they are in fact exact).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fixture } from "../../testing/fixtures.js";
import { readTestSafetensors, testTensor } from "../../testing/image-goldens.js";
import { clipSpecFromPreprocessorConfig } from "./clip-config.js";
import { centerCrop } from "./crop.js";
import { expandToSquare } from "./expand.js";
import { type ClipProcessorSpec, preprocessForTower, shortestEdgeSize, siglipSpec } from "./processor.js";
import { resizeBicubic } from "./resize.js";
import type { RgbImage } from "./rgb-image.js";

interface ManifestImage {
  key: string;
  file: string;
  width: number;
  height: number;
  variants: Record<string, { resized_size_wh?: [number, number] }>;
}
interface Manifest {
  target_size: number;
  image_mean: [number, number, number];
  image_std: [number, number, number];
  pad_color: [number, number, number];
  images: ManifestImage[];
}

function loadSet(dir: string) {
  const manifest = JSON.parse(readFileSync(fixture(dir, "manifest.json"), "utf8")) as Manifest;
  const golden = readTestSafetensors(fixture(dir, "golden.safetensors"));
  const rgb = (name: string): RgbImage => {
    const t = testTensor(golden, name);
    assert.equal(t.dtype, "U8");
    return { height: t.shape[0]!, width: t.shape[1]!, data: t.data as Uint8Array };
  };
  const f32 = (name: string) => testTensor(golden, name).data as Float32Array;
  return { manifest, rgb, f32 };
}

function assertSameImage(actual: RgbImage, expected: RgbImage, what: string): void {
  assert.equal(`${actual.width}x${actual.height}`, `${expected.width}x${expected.height}`, `${what}: size`);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < expected.data.length; i++) {
    if (actual.data[i] !== expected.data[i]) {
      bad++;
      if (first < 0) first = i;
    }
  }
  assert.equal(
    bad,
    0,
    `${what}: ${bad} bytes differ, first at ${first} (${actual.data[first]} vs ${expected.data[first]})`,
  );
}

function assertClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  assert.ok(worst <= tol, `${what}: max |a−b| = ${worst} > ${tol}`);
}

test("preprocess/ (Imp, SigLIP): canvas, resize and pixel_values from the golden decoded_rgb", () => {
  const { manifest, rgb, f32 } = loadSet("preprocess");
  const S = manifest.target_size;
  assert.ok(manifest.images.length >= 3);
  for (const im of manifest.images) {
    const decoded = rgb(`${im.key}.decoded_rgb`);
    assert.equal(`${decoded.width}x${decoded.height}`, `${im.width}x${im.height}`);
    const canvas = expandToSquare(decoded, manifest.pad_color);
    assertSameImage(canvas, rgb(`${im.key}.pad.canvas_rgb`), `${im.key} pad canvas`);
    assertSameImage(
      resizeBicubic(decoded, S, S),
      rgb(`${im.key}.square.resized_rgb`),
      `${im.key} square resize`,
    );
    assertSameImage(resizeBicubic(canvas, S, S), rgb(`${im.key}.pad.resized_rgb`), `${im.key} pad resize`);
    for (const aspect of ["square", "pad"] as const) {
      const spec = siglipSpec(S, aspect);
      assert.deepEqual(spec.padColor, manifest.pad_color);
      const pv = preprocessForTower(decoded, spec);
      assertClose(pv, f32(`${im.key}.${aspect}.pixel_values`), 1e-6, `${im.key} ${aspect} pixel_values`);
    }
  }
});

test("preprocess-clip/ (LLaVA-1.5, CLIP): canvas, shortest-edge resize, crop and pixel_values", () => {
  const { manifest, rgb, f32 } = loadSet("preprocess-clip");
  const S = manifest.target_size;
  const config = JSON.parse(
    readFileSync(fixture("tiny-llava15", "clip-vision", "preprocessor_config.json"), "utf8"),
  ) as unknown;
  for (const im of manifest.images) {
    const decoded = rgb(`${im.key}.decoded_rgb`);
    const canvas = expandToSquare(decoded, manifest.pad_color);
    assertSameImage(canvas, rgb(`${im.key}.pad.canvas_rgb`), `${im.key} pad canvas`);
    for (const aspect of ["square", "pad"] as const) {
      const spec: ClipProcessorSpec = clipSpecFromPreprocessorConfig(config, aspect);
      assert.equal(spec.shortestEdge, S);
      assert.deepEqual(spec.padColor, manifest.pad_color);
      assert.deepEqual(spec.mean, manifest.image_mean);
      const base = aspect === "pad" ? canvas : decoded;
      const size = shortestEdgeSize(base.width, base.height, S);
      assert.deepEqual([size.width, size.height], im.variants[aspect]!.resized_size_wh);
      const resized = resizeBicubic(base, size.width, size.height);
      assertSameImage(resized, rgb(`${im.key}.${aspect}.resized_rgb`), `${im.key} ${aspect} resize`);
      assertSameImage(
        centerCrop(resized, S, S),
        rgb(`${im.key}.${aspect}.cropped_rgb`),
        `${im.key} ${aspect} crop`,
      );
      const pv = preprocessForTower(decoded, spec);
      assertClose(pv, f32(`${im.key}.${aspect}.pixel_values`), 1e-6, `${im.key} ${aspect} pixel_values`);
    }
  }
});
