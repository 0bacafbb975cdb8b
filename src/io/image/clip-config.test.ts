import assert from "node:assert/strict";
import { test } from "node:test";
import { fixture } from "../../testing/fixtures.js";
import { CheckpointError } from "../../util/errors.js";
import { clipSpecFromPreprocessorConfig, readClipPreprocessorConfig } from "./clip-config.js";

const MEAN = [0.48145466, 0.4578275, 0.40821073];
const STD = [0.26862954, 0.26130258, 0.27577711];

test("reads the fixture's preprocessor_config.json", async () => {
  const spec = await readClipPreprocessorConfig(
    fixture("tiny-llava15", "clip-vision", "preprocessor_config.json"),
    "pad",
  );
  assert.deepEqual(spec, {
    kind: "clip",
    shortestEdge: 42,
    cropSize: 42,
    mean: MEAN,
    std: STD,
    rescale: 1 / 255,
    aspect: "pad",
    padColor: [122, 116, 104],
  });
});

test("accepts the newer dict spellings and refuses what the official pipeline never does", () => {
  const base = { image_mean: MEAN, image_std: STD, resample: 3 };
  const spec = clipSpecFromPreprocessorConfig(
    {
      ...base,
      size: { shortest_edge: 336 },
      crop_size: { height: 336, width: 336 },
      rescale_factor: 0.00392156862745098,
    },
    "square",
  );
  assert.equal(spec.shortestEdge, 336);
  assert.deepEqual(spec.cropSize, { width: 336, height: 336 });
  const bad: [object, RegExp][] = [
    [{ ...base, size: 336, do_center_crop: false }, /do_center_crop/],
    [{ ...base, size: 336, resample: 2 }, /resample/],
    [{ ...base, size: { height: 336, width: 336 } }, /shortest_edge/],
    [{ ...base, size: 336, image_mean: [0.5, 0.5] }, /image_mean/],
  ];
  for (const [json, re] of bad) {
    assert.throws(
      () => clipSpecFromPreprocessorConfig(json, "pad", "x/preprocessor_config.json"),
      (e: unknown) => {
        assert.ok(e instanceof CheckpointError);
        assert.match(e.message, /^x\/preprocessor_config\.json: /);
        assert.match(e.message, re);
        return true;
      },
    );
  }
});
