/**
 * Draws a scene graph into pixels: background, shapes in order (with their labels), signs, and charts laid out
 * on the 128 px canvas (bar geometry and legend placement are defined here). Deterministic: integer and
 * fixed-point geometry only (see raster.ts), so the same scene gives the same bytes on every machine.
 */
import type { RgbImage } from "../io/image/rgb-image.js";
import { Canvas } from "./canvas.js";
import { drawText, textWidth } from "./font.js";
import { BACKGROUNDS, COLORS, INK, inkOn } from "./palette.js";
import { FP } from "./raster.js";
import type { Chart, Scene } from "./scene.js";
import { labelOrigin, signPadding } from "./scene-text.js";
import { shapeMask } from "./shapes.js";

const AXIS = [70, 70, 70] as const;
/** Text scale of every chart label and value. */
export const CHART_SCALE = 2;

export function renderScene(scene: Scene): RgbImage {
  const c = new Canvas(scene.width, scene.height, BACKGROUNDS[scene.background]);
  for (const o of scene.objects) {
    c.paint(shapeMask(o.shape, o.x, o.y, o.r, c.width, c.height), COLORS[o.color]);
    if (o.label !== null) {
      const at = labelOrigin(o);
      drawText(c, o.label, at.x, at.y, at.scale, inkOn(o.color));
    }
  }
  for (const s of scene.signs) {
    c.fillRect(s.x, s.y, s.w, s.h, COLORS[s.color]);
    const pad = signPadding(s.scale);
    drawText(c, s.text, s.x + pad, s.y + pad, s.scale, inkOn(s.color));
  }
  if (scene.chart) drawChart(c, scene.chart);
  return c.image();
}

function drawChart(c: Canvas, chart: Chart): void {
  if (chart.type === "bar") drawBars(c, chart);
  else if (chart.type === "hbar") drawHbars(c, chart);
  else drawPie(c, chart);
}

/** Vertical bars: a baseline (x axis) at y = 104, a 41 px slot per bar, value above, label below. */
function drawBars(c: Canvas, chart: Chart): void {
  const s = CHART_SCALE;
  const base = 104;
  c.fillRect(2, base, c.width - 4, 2, AXIS);
  const slot = Math.floor((c.width - 4) / chart.values.length);
  const left = 2 + Math.floor((c.width - 4 - slot * chart.values.length) / 2);
  chart.values.forEach((v, i) => {
    const mid = left + slot * i + Math.floor(slot / 2);
    const h = Math.round((v * 76) / 100);
    c.fillRect(mid - 11, base - h, 22, h, COLORS[chart.colors[i]!]);
    const vt = String(v);
    drawText(c, vt, mid - Math.floor(textWidth(vt, s) / 2), base - h - 16, s, INK);
    const lt = chart.labels[i]!;
    drawText(c, lt, mid - Math.floor(textWidth(lt, s) / 2), base + 5, s, INK);
  });
}

/** Horizontal bars: labels in a 34 px column, axis at x = 39, value after the bar's end. */
function drawHbars(c: Canvas, chart: Chart): void {
  const s = CHART_SCALE;
  const n = chart.values.length;
  const axis = 39;
  const rowH = Math.floor((c.height - 8) / n);
  const top = 4 + Math.floor((c.height - 8 - rowH * n) / 2);
  c.fillRect(axis, top, 2, rowH * n, AXIS);
  chart.values.forEach((v, i) => {
    const y = top + rowH * i + Math.floor((rowH - 14) / 2);
    const len = Math.round((v * 58) / 100);
    c.fillRect(axis + 2, y, len, 14, COLORS[chart.colors[i]!]);
    drawText(c, chart.labels[i]!, 2, y, s, INK);
    drawText(c, String(v), axis + 2 + len + 3, y, s, INK);
  });
}

/** Unit circle at every 1% of a turn from 12 o'clock clockwise, ×1024, rounded once (see shapes.ts). */
const ARC: Int32Array = (() => {
  const t = new Int32Array(202);
  for (let k = 0; k <= 100; k++) {
    const a = -Math.PI / 2 + (2 * Math.PI * k) / 100;
    t[2 * k] = Math.round(Math.cos(a) * 1024);
    t[2 * k + 1] = Math.round(Math.sin(a) * 1024);
  }
  return t;
})();

/** Pie at the top (centre (64, 31), r = 28), slices clockwise from 12 o'clock; legend rows below. */
function drawPie(c: Canvas, chart: Chart): void {
  const s = CHART_SCALE;
  const cx = 64 * FP;
  const cy = 31 * FP;
  const r = 28 * FP;
  let acc = 0;
  chart.values.forEach((v, i) => {
    const pts = [cx, cy];
    for (let k = acc; k <= acc + v; k++) {
      pts.push(cx + Math.round((ARC[2 * k]! * r) / 1024), cy + Math.round((ARC[2 * k + 1]! * r) / 1024));
    }
    acc += v;
    c.fillPolygon(pts, COLORS[chart.colors[i]!]);
  });
  const texts = chart.labels.map((l, i) => `${l} ${chart.values[i]}%`);
  const widest = Math.max(...texts.map((t) => textWidth(t, s)));
  const x0 = Math.floor((c.width - (14 + widest)) / 2);
  texts.forEach((t, i) => {
    const y = 63 + 16 * i;
    c.fillRect(x0, y + 2, 10, 10, COLORS[chart.colors[i]!]);
    drawText(c, t, x0 + 14, y, s, INK);
  });
}
