/**
 * Short markdown reports of evaluation runs: one run (what was asked, how long it took, the score), or several
 * runs side by side (one row per model, one column per benchmark's headline number) with a bar chart.
 */
import { BENCHMARKS } from "./benchmarks.js";
import { formatDuration } from "./progress.js";
import type { RunSummary } from "./runner.js";

function fmt(v: unknown): string {
  if (v === null || v === undefined) return "n/a";
  if (typeof v === "number")
    return Number.isInteger(v) ? String(v) : v.toFixed(4).replace(/0+$/, "").replace(/\.$/, "");
  if (typeof v === "object") {
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}: ${fmt(x)}`)
      .join(", ");
  }
  return String(v);
}

/** Markdown escape for table cells. */
function cellText(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** The keys of a score worth a line in a report (the rest are in the summary JSON). */
const REPORT_KEYS: Record<string, string[]> = {
  vqav2: ["overall", "overall_after_llava_processing", "per_answer_type"],
  textvqa: ["accuracy", "samples"],
  gqa: ["accuracy", "binary", "open"],
  scienceqa: ["img_accuracy", "all_accuracy", "failed"],
  pope: ["f1", "accuracy", "precision", "recall", "yes_ratio", "mean_f1"],
  mme: ["perception", "cognition", "subtasks"],
  mmbench: ["circular_accuracy", "unparseable_answers", "groups_needing_judge"],
};

export function renderRunReport(s: RunSummary): string {
  const b = BENCHMARKS[s.benchmark];
  const lines = [
    `# ${b.title}: ${s.model}`,
    "",
    "| | |",
    "| --- | --- |",
    `| model | ${cellText(s.model)}${s.source ? ` (${cellText(s.source)})` : ""} |`,
    `| answers | ${cellText(s.answers)} |`,
    `| questions | ${s.in_run - s.missing} of ${s.in_run} answered${s.in_run < s.questions ? ` (benchmark: ${s.questions})` : ""}${s.shard ? `, shard ${s.shard}` : ""} |`,
    `| this run | ${s.answered_now} asked in ${formatDuration(s.seconds)} |`,
    `| finished | ${s.finished_at} |`,
    "",
  ];
  if (s.score) {
    lines.push("## Score", "", "| metric | value |", "| --- | --- |");
    for (const k of REPORT_KEYS[s.benchmark] ?? Object.keys(s.score)) {
      if (k in s.score) lines.push(`| ${k} | ${cellText(fmt(s.score[k]))} |`);
    }
    lines.push("");
  }
  if (s.score_note) lines.push(`Note: ${s.score_note}`, "");
  return `${lines.join("\n")}\n`;
}

/** Several runs side by side: one row per model, one column per benchmark (its headline number). */
export function renderComparison(runs: RunSummary[], chartFile?: string): string {
  const benches = [...new Set(runs.map((r) => r.benchmark))];
  const models = [...new Set(runs.map((r) => r.model))];
  const value = (m: string, b: string) => {
    const r = runs.filter((x) => x.model === m && x.benchmark === b).at(-1);
    return r?.headline?.value ?? null;
  };
  const head = benches.map((b) => `${BENCHMARKS[b].title} (${BENCHMARKS[b].headline({}).label})`);
  const lines = [
    "# Evaluation comparison",
    "",
    `| model | ${head.join(" | ")} |`,
    `| --- | ${benches.map(() => "---:").join(" | ")} |`,
    ...models.map((m) => `| ${cellText(m)} | ${benches.map((b) => fmt(value(m, b))).join(" | ")} |`),
    "",
  ];
  const partial = runs.filter((r) => r.partial);
  if (partial.length) {
    lines.push(
      `Partial runs (not the whole benchmark): ${partial.map((r) => `${r.model}/${r.benchmark}`).join(", ")}`,
      "",
    );
  }
  if (chartFile) lines.push(`![comparison](${chartFile})`, "");
  return `${lines.join("\n")}\n`;
}

function xml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

const COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"];

/**
 * A bar chart (SVG) of the runs: one panel per benchmark with its own scale (MME's ~1500 next to percentages),
 * one bar per model.
 */
export function renderComparisonSvg(runs: RunSummary[]): string {
  const benches = [...new Set(runs.map((r) => r.benchmark))];
  const models = [...new Set(runs.map((r) => r.model))];
  const panelW = Math.max(140, 28 * models.length + 40);
  const panelH = 200;
  const top = 30;
  const legendH = 18 * models.length + 10;
  const width = panelW * benches.length + 20;
  const height = top + panelH + 50 + legendH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  benches.forEach((b, bi) => {
    const x0 = 10 + bi * panelW;
    const vals = models.map(
      (m) => runs.filter((r) => r.model === m && r.benchmark === b).at(-1)?.headline?.value ?? null,
    );
    const max = Math.max(1e-9, ...vals.filter((v): v is number => v !== null));
    const barW = (panelW - 40) / models.length;
    parts.push(
      `<text x="${x0 + panelW / 2}" y="${top - 12}" text-anchor="middle" font-weight="bold">${xml(BENCHMARKS[b].title)}</text>`,
    );
    parts.push(
      `<line x1="${x0 + 15}" y1="${top + panelH}" x2="${x0 + panelW - 15}" y2="${top + panelH}" stroke="#333"/>`,
    );
    vals.forEach((v, mi) => {
      if (v === null) return;
      const h = (v / max) * (panelH - 20);
      const x = x0 + 20 + mi * barW;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${(top + panelH - h).toFixed(1)}" width="${(barW * 0.8).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[mi % COLORS.length]}"><title>${xml(`${models[mi]}: ${fmt(v)}`)}</title></rect>`,
      );
      parts.push(
        `<text x="${(x + barW * 0.4).toFixed(1)}" y="${(top + panelH - h - 3).toFixed(1)}" text-anchor="middle">${xml(fmt(Math.round(v * 100) / 100))}</text>`,
      );
    });
    parts.push(
      `<text x="${x0 + panelW / 2}" y="${top + panelH + 16}" text-anchor="middle" fill="#555">${xml(BENCHMARKS[b].headline({}).label)}</text>`,
    );
  });
  models.forEach((m, mi) => {
    const y = top + panelH + 40 + mi * 18;
    parts.push(`<rect x="12" y="${y - 10}" width="12" height="12" fill="${COLORS[mi % COLORS.length]}"/>`);
    parts.push(`<text x="30" y="${y}">${xml(m)}</text>`);
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
