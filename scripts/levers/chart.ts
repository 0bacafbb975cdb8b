/**
 * The levers chart (docs/levers-accuracy.svg): one point per combination of visual tokens and weight formats, its
 * time to the first token along the bottom and its accuracy up the side; the marker's shape is the LLM's format,
 * its fill the tower's (hollow: q8), its label the visual tokens. Plain SVG text, as the training curves.
 */
const W = 720;
const H = 420;
const PAD = { left: 64, right: 150, top: 32, bottom: 48 };
const SHAPES: Record<string, (x: number, y: number) => string> = {
  f16: (x, y) => `<circle cx="${x}" cy="${y}" r="5"`,
  q8: (x, y) => `<rect x="${x - 5}" y="${y - 5}" width="10" height="10"`,
  q4: (x, y) => `<polygon points="${x},${y - 6} ${x + 6},${y + 5} ${x - 6},${y + 5}"`,
};

export interface LeverPoint {
  tokens: number;
  llm: string;
  tower: string;
  ttftMs: number;
  scores: Record<string, number>;
}

function niceTicks(lo: number, hi: number): number[] {
  const span = hi - lo || 1;
  const step = 10 ** Math.floor(Math.log10(span / 4));
  const k = [1, 2, 5, 10].find((m) => span / (m * step) <= 6)! * step;
  const out: number[] = [];
  for (let t = Math.floor(lo / k) * k; t <= hi + 1e-9; t += k) out.push(Number(t.toPrecision(6)));
  return out;
}

export function leversChart(points: readonly LeverPoint[], metric: string): string {
  const xs = points.map((p) => p.ttftMs);
  const ys = points.map((p) => p.scores[metric]!);
  const xt = niceTicks(0, Math.max(...xs, 1) * 1.05);
  const yt = niceTicks(Math.min(...ys, 0), Math.max(...ys, 1));
  const [x0, x1, y0, y1] = [xt[0]!, xt.at(-1)!, yt[0]!, yt.at(-1)!];
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const sx = (v: number) => PAD.left + ((v - x0) / (x1 - x0 || 1)) * pw;
  const sy = (v: number) => PAD.top + ph - ((v - y0) / (y1 - y0 || 1)) * ph;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11" role="img">`,
    `<title>${metric} against time to the first token, per visual tokens and weight formats</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${PAD.left + pw / 2}" y="18" text-anchor="middle" font-size="13">${metric} against time to the first token</text>`,
    `<rect x="${PAD.left}" y="${PAD.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  ];
  for (const t of yt)
    parts.push(
      `<line x1="${PAD.left}" x2="${PAD.left + pw}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${PAD.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`,
    );
  for (const t of xt)
    parts.push(`<text x="${sx(t).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${t}</text>`);
  parts.push(
    `<text x="${PAD.left + pw / 2}" y="${H - 10}" text-anchor="middle">time to first token (ms)</text>`,
    `<text x="16" y="${PAD.top + ph / 2}" transform="rotate(-90 16 ${PAD.top + ph / 2})" text-anchor="middle">${metric}</text>`,
  );
  for (const p of points) {
    const [x, y] = [sx(p.ttftMs), sy(p.scores[metric]!)].map((v) => Number(v.toFixed(1))) as [number, number];
    const fill = p.tower === "q8" ? "white" : "#1f77b4";
    parts.push(
      `${SHAPES[p.llm]!(x, y)} fill="${fill}" stroke="#1f77b4" stroke-width="1.5"/>`,
      `<text x="${x + 8}" y="${y - 6}" fill="#555">${p.tokens}</text>`,
    );
  }
  // Legend: marker shape = LLM format, fill = tower format, label = visual tokens.
  const lx = PAD.left + pw + 16;
  let ly = PAD.top + 10;
  for (const f of ["f16", "q8", "q4"]) {
    parts.push(
      `${SHAPES[f]!(lx + 6, ly)} fill="#1f77b4" stroke="#1f77b4"/>`,
      `<text x="${lx + 18}" y="${ly + 4}">LLM ${f}</text>`,
    );
    ly += 20;
  }
  parts.push(
    `<circle cx="${lx + 6}" cy="${ly}" r="5" fill="white" stroke="#1f77b4" stroke-width="1.5"/>`,
    `<text x="${lx + 18}" y="${ly + 4}">tower q8 (filled: f16)</text>`,
    `<text x="${lx}" y="${ly + 24}" fill="#555">label: visual tokens</text>`,
    "</svg>",
  );
  return `${parts.join("\n")}\n`;
}
