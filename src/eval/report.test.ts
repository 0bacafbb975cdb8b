import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProgressBar } from "./progress.js";
import { renderComparison, renderComparisonSvg, renderRunReport } from "./report.js";
import type { RunSummary } from "./runner.js";

const run = (
  model: string,
  benchmark: RunSummary["benchmark"],
  value: number,
  score: Record<string, unknown>,
): RunSummary => ({
  benchmark,
  model,
  source: "http://x",
  data: "/d",
  answers: "/a.jsonl",
  shard: null,
  questions: 10,
  in_run: 10,
  answered_before: 0,
  answered_now: 10,
  missing: 0,
  seconds: 75,
  partial: false,
  score,
  score_note: null,
  headline: { label: "x", value },
  files: [],
  finished_at: "2024-01-01T00:00:00.000Z",
});

describe("reports", () => {
  it("one run: what was asked and the main metrics", () => {
    const md = renderRunReport(run("imp-3b", "pope", 85, { f1: { random: 0.85 }, mean_f1: 0.85 }));
    assert.match(md, /^# POPE: imp-3b/);
    assert.match(md, /\| questions \| 10 of 10 answered \|/);
    assert.match(md, /\| this run \| 10 asked in 1m15s \|/);
    assert.match(md, /\| f1 \| random: 0\.85 \|/);
  });

  it("several runs: a table per model and benchmark, and an SVG with one panel per benchmark", () => {
    const runs = [
      run("imp-3b", "pope", 88.02, {}),
      run("imp-3b", "mme", 1434, {}),
      run("llava-7b", "pope", 86.4, {}),
      run("llava-7b", "mme", 1476.9, {}),
    ];
    const md = renderComparison(runs, "cmp.svg");
    assert.match(md, /\| model \| POPE \(mean F1 %\) \| MME \(perception\) \|/);
    assert.match(md, /\| imp-3b \| 88\.02 \| 1434 \|/);
    assert.match(md, /!\[comparison\]\(cmp\.svg\)/);
    const svg = renderComparisonSvg(runs);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.equal((svg.match(/<rect x=/g) ?? []).length, 4 + 2); // 4 bars + 2 legend swatches
    assert.match(svg, /<title>llava-7b: 1476\.9<\/title>/);
  });

  it("progress bar text with rate and ETA", () => {
    assert.equal(ProgressBar.render("pope", 25, 100, 10, 10), "pope [###-------] 25/100 25% 2.50/s ETA 30s");
    assert.equal(
      ProgressBar.render("pope", 100, 100, 10, 10),
      "pope [##########] 100/100 100% 10.00/s ETA 0s",
    );
    const out: string[] = [];
    const bar = new ProgressBar(20, "x", { isTTY: false, write: (s) => out.push(s) });
    for (let i = 0; i < 20; i++) bar.tick();
    bar.finish();
    assert.ok(out.length >= 10 && out.length <= 12, `${out.length} lines`);
  });
});
