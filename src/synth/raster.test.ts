// Coverage masks: exact on pixel-aligned edges, areas of discs and polygons, non-zero winding, clipping.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Canvas } from "./canvas.js";
import { circleMask, FP, maskArea, polygonMask, SAMPLES } from "./raster.js";

const sum = (m: { cov: Uint8Array }) => m.cov.reduce((a, b) => a + b, 0);

test("a pixel-aligned square covers its pixels fully and nothing else", () => {
  const m = polygonMask(32, 32, [4 * FP, 5 * FP, 12 * FP, 5 * FP, 12 * FP, 9 * FP, 4 * FP, 9 * FP]);
  assert.equal(sum(m), 8 * 4 * SAMPLES);
  for (let y = 0; y < m.h; y++) {
    for (let x = 0; x < m.w; x++) {
      const inside = m.x0 + x >= 4 && m.x0 + x < 12 && m.y0 + y >= 5 && m.y0 + y < 9;
      assert.equal(m.cov[y * m.w + x], inside ? SAMPLES : 0);
    }
  }
});

test("a half-pixel offset square gives half coverage on its edges", () => {
  const h = FP / 2;
  const m = polygonMask(32, 32, [
    4 * FP + h,
    4 * FP,
    8 * FP + h,
    4 * FP,
    8 * FP + h,
    8 * FP,
    4 * FP + h,
    8 * FP,
  ]);
  assert.equal(sum(m), 4 * 4 * SAMPLES);
  const at = (x: number, y: number) => m.cov[(y - m.y0) * m.w + (x - m.x0)];
  assert.equal(at(4, 5), SAMPLES / 2);
  assert.equal(at(6, 5), SAMPLES);
  assert.equal(at(8, 5), SAMPLES / 2);
});

test("disc and triangle areas match geometry", () => {
  for (const r of [5, 10.5, 23]) {
    const m = circleMask(128, 128, 64 * FP, 64 * FP, r * FP);
    const area = sum(m) / SAMPLES;
    assert.ok(Math.abs(area - Math.PI * r * r) / (Math.PI * r * r) < 0.02, `r=${r}: ${area}`);
  }
  const t = polygonMask(64, 64, [10 * FP, 10 * FP, 50 * FP, 10 * FP, 10 * FP, 40 * FP]);
  assert.ok(Math.abs(sum(t) / SAMPLES - 600) < 3);
});

test("polygons fill by the non-zero rule and either orientation", () => {
  const cw = [0, 0, 8 * FP, 0, 8 * FP, 8 * FP, 0, 8 * FP];
  const ccw = [0, 0, 0, 8 * FP, 8 * FP, 8 * FP, 8 * FP, 0];
  assert.deepEqual(polygonMask(16, 16, cw).cov, polygonMask(16, 16, ccw).cov);
  // A pentagram drawn as one self-crossing path: non-zero winding fills its centre.
  const star: number[] = [];
  for (let i = 0; i < 5; i++) {
    const a = -Math.PI / 2 + (4 * Math.PI * i) / 5;
    star.push(Math.round((32 + 28 * Math.cos(a)) * FP), Math.round((32 + 28 * Math.sin(a)) * FP));
  }
  const m = polygonMask(64, 64, star);
  assert.equal(m.cov[(32 - m.y0) * m.w + (32 - m.x0)], SAMPLES);
});

test("masks are clipped to the canvas and painting blends coverage in integers", () => {
  const m = circleMask(20, 20, 0, 0, 10 * FP);
  assert.equal(m.x0, 0);
  assert.equal(m.w, 11);
  assert.ok(maskArea(m) > 70 && maskArea(m) < 85);
  const c = new Canvas(20, 20, [255, 255, 255]);
  c.paint(m, [0, 0, 0]);
  // A pixel on the boundary with coverage c gets (255 * (16 - c) + 8) >> 4.
  for (let i = 0; i < m.cov.length; i++) {
    const x: number = m.x0 + (i % m.w);
    const y: number = m.y0 + Math.floor(i / m.w);
    const cov = m.cov[i]!;
    assert.equal(c.data[(y * 20 + x) * 3], cov === SAMPLES ? 0 : (255 * (SAMPLES - cov) + 8) >> 4);
  }
});
