// Rendering is deterministic and machine-independent: pinned hashes of a few scenes' pixels (any change to
// geometry, the font, the palette or the generators changes them: bump WORLD_VERSION and re-pin), plus the
// properties that make pictures readable after a downscale to a tiny tower's input.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { decodePng } from "../io/image/png.js";
import { resizeBicubic } from "../io/image/resize.js";
import { Canvas } from "./canvas.js";
import { BACKGROUNDS, COLOR_NAMES, COLORS } from "./palette.js";
import { encodePng } from "./png.js";
import { maskArea } from "./raster.js";
import { renderScene } from "./render.js";
import { SHAPE_NAMES, shapeMask } from "./shapes.js";
import { makeScene, sceneKind, splitSeeds } from "./world.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex").slice(0, 16);

test("pinned pixel hashes of the first two test scenes of each kind", () => {
  const seeds = splitSeeds("test", 30);
  const picked = (["shapes", "text", "chart"] as const).flatMap((k) =>
    seeds.filter((s) => sceneKind(s) === k).slice(0, 2),
  );
  const got = picked.map((s) => `${s} ${makeScene(s).kind}:${sha(renderScene(makeScene(s)).data)}`);
  assert.deepEqual(got, PINNED);
});

const PINNED = [
  "20000001 shapes:7e9bf5aeeae3a153",
  "20000003 shapes:bdb72e8c0126ae44",
  "20000009 text:19753564072edf79",
  "20000016 text:0d761f2592e7ed05",
  "20000000 chart:c430920640e147d5",
  "20000002 chart:6cc5a241e78e0585",
];

test("the same seed gives the same bytes; PNG round-trips the pixels", () => {
  for (const seed of [3, 77, 1234]) {
    const a = renderScene(makeScene(seed));
    const b = renderScene(makeScene(seed));
    assert.deepEqual(a.data, b.data);
    assert.deepEqual(encodePng(a), encodePng(b));
    assert.deepEqual(decodePng(encodePng(a)).data, a.data);
  }
});

test("every shape is centred, fills a plausible share of its box, and differs from the others", () => {
  const masks = SHAPE_NAMES.map((s) => shapeMask(s, 32, 32, 20, 64, 64));
  masks.forEach((m, i) => {
    const area = maskArea(m) / (40 * 40);
    assert.ok(area > 0.35 && area < 0.85, `${SHAPE_NAMES[i]}: fills ${area.toFixed(2)} of its box`);
    // Centre of mass near the centre.
    let sx = 0;
    let sy = 0;
    let n = 0;
    for (let y = 0; y < m.h; y++) {
      for (let x = 0; x < m.w; x++) {
        const c = m.cov[y * m.w + x]!;
        sx += c * (m.x0 + x + 0.5);
        sy += c * (m.y0 + y + 0.5);
        n += c;
      }
    }
    assert.ok(Math.abs(sx / n - 32) < 1.5 && Math.abs(sy / n - 32) < 3, `${SHAPE_NAMES[i]} off centre`);
  });
  const full = (m: (typeof masks)[number]) => {
    const a = new Uint8Array(64 * 64);
    for (let y = 0; y < m.h; y++)
      for (let x = 0; x < m.w; x++) a[(m.y0 + y) * 64 + m.x0 + x] = m.cov[y * m.w + x]! >= 8 ? 1 : 0;
    return a;
  };
  for (let i = 0; i < masks.length; i++) {
    for (let j = i + 1; j < masks.length; j++) {
      const a = full(masks[i]!);
      const b = full(masks[j]!);
      let diff = 0;
      for (let k = 0; k < a.length; k++) diff += a[k]! ^ b[k]!;
      assert.ok(diff > 60, `${SHAPE_NAMES[i]} and ${SHAPE_NAMES[j]} differ in only ${diff} pixels`);
    }
  }
});

test("palette colours stay nearest to themselves after a 2x bicubic downscale of a small shape", () => {
  for (const bg of Object.values(BACKGROUNDS)) {
    for (const name of COLOR_NAMES) {
      const c = new Canvas(128, 128, bg);
      c.paint(shapeMask("circle", 64, 64, 10, 128, 128), COLORS[name]);
      const small = resizeBicubic(c.image(), 64, 64);
      const o = (32 * 64 + 32) * 3;
      const px = [small.data[o]!, small.data[o + 1]!, small.data[o + 2]!];
      const nearest = COLOR_NAMES.reduce((best, n) => {
        const d = (k: string) => COLORS[k as typeof name].reduce((s, v, i) => s + (v - px[i]!) ** 2, 0);
        return d(n) < d(best) ? n : best;
      });
      assert.equal(nearest, name);
    }
  }
  // Object colours are far from each other and from every background.
  const all = [...COLOR_NAMES.map((n) => COLORS[n]), ...Object.values(BACKGROUNDS)];
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      if (i >= COLOR_NAMES.length) continue;
      const d = Math.max(...[0, 1, 2].map((k) => Math.abs(all[i]![k]! - all[j]![k]!)));
      assert.ok(d >= 70, `colours ${i} and ${j} differ by only ${d}`);
    }
  }
});
