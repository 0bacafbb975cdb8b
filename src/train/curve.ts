/**
 * The loss and learning-rate curves of a run as one SVG picture (curve.svg beside the metrics): loss on the left
 * axis, lr (dashed) on the right, steps along the bottom. Plain SVG text, no dependency; any browser shows it.
 */
import type { StepMetrics } from "./metrics.js";

const W = 720;
const H = 360;
const PAD = { left: 64, right: 72, top: 28, bottom: 44 };

function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  return Array.from({ length: n + 1 }, (_, i) => lo + ((hi - lo) * i) / n);
}

function fmt(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1000 || a < 0.01 ? v.toExponential(1) : Number(v.toPrecision(3)).toString();
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
}

export function curveSvg(metrics: readonly StepMetrics[], title: string): string {
  const pts = metrics.filter((m) => Number.isFinite(m.loss) && m.tokens > 0);
  const steps = metrics.length > 0 ? metrics.map((m) => m.step) : [0];
  const x0 = Math.min(...steps);
  const x1 = Math.max(...steps, x0 + 1);
  const lossMax = Math.max(...pts.map((m) => m.loss), 1e-6);
  const lrMax = Math.max(...metrics.map((m) => m.lr), 1e-12);
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const sx = (s: number) => PAD.left + ((s - x0) / Math.max(1e-9, x1 - x0)) * pw;
  const sy = (v: number, max: number) => PAD.top + ph - (v / max) * ph;
  const line = (xs: Array<[number, number]>) =>
    xs.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11" role="img">`,
    `<title>${escapeXml(title)}: loss and learning rate by step</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13">${escapeXml(title)}</text>`,
    `<rect x="${PAD.left}" y="${PAD.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  ];
  for (const t of ticks(0, lossMax)) {
    const y = sy(t, lossMax);
    parts.push(
      `<line x1="${PAD.left}" x2="${PAD.left + pw}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#eee"/>`,
      `<text x="${PAD.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#1f77b4">${fmt(t)}</text>`,
    );
  }
  for (const t of ticks(0, lrMax))
    parts.push(
      `<text x="${PAD.left + pw + 6}" y="${(sy(t, lrMax) + 4).toFixed(1)}" fill="#d62728">${fmt(t)}</text>`,
    );
  const stepTicks = [...new Set(ticks(x0, x1, Math.min(5, x1 - x0)).map(Math.round))];
  for (const t of stepTicks)
    parts.push(
      `<text x="${sx(t).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${Math.round(t)}</text>`,
    );
  parts.push(
    `<text x="${PAD.left + pw / 2}" y="${H - 8}" text-anchor="middle">step</text>`,
    `<text x="14" y="${PAD.top + ph / 2}" transform="rotate(-90 14 ${PAD.top + ph / 2})" text-anchor="middle" fill="#1f77b4">loss</text>`,
    `<text x="${W - 12}" y="${PAD.top + ph / 2}" transform="rotate(90 ${W - 12} ${PAD.top + ph / 2})" text-anchor="middle" fill="#d62728">learning rate</text>`,
    `<polyline fill="none" stroke="#d62728" stroke-dasharray="5,3" points="${line(metrics.map((m) => [sx(m.step), sy(m.lr, lrMax)]))}"/>`,
    `<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${line(pts.map((m) => [sx(m.step), sy(m.loss, lossMax)]))}"/>`,
    "</svg>",
  );
  return `${parts.join("\n")}\n`;
}
