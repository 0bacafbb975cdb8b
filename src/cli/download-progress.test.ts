/** Download progress: plain lines off a terminal; bars per file and in total, redrawn in place, on one. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PullEvent } from "../hub/index.js";
import { downloadProgress, formatBytes } from "./download-progress.js";

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { isTTY, out, write: (s: string) => out.push(s) > 0 };
}

const repo = "org/m";
const events = (): PullEvent[] => [
  {
    type: "plan",
    repo,
    files: [
      { path: "a.safetensors", size: 2_000_000 },
      { path: "b.json", size: 1000 },
    ],
    totalBytes: 2_001_000,
  },
  { type: "start", repo, path: "a.safetensors", size: 2_000_000, resumedFrom: 500_000 },
  { type: "bytes", repo, path: "a.safetensors", done: 1_000_000, size: 2_000_000 },
  { type: "bytes", repo, path: "a.safetensors", done: 2_000_000, size: 2_000_000 },
  { type: "done", repo, path: "a.safetensors", size: 2_000_000, downloaded: 1_500_000 },
  { type: "done", repo, path: "b.json", size: 1000, downloaded: 0 },
];

describe("download progress", () => {
  test("sizes in the units the Hub shows", () => {
    assert.equal(formatBytes(999), "999 B");
    assert.equal(formatBytes(1600), "1.6 kB");
    assert.equal(formatBytes(6_361_000_000), "6.4 GB");
  });

  test("plain lines: the plan, a resume, each file with its rate, and the total", () => {
    let t = 0;
    const s = sink(false);
    const p = downloadProgress(s, () => t, 1000);
    for (const e of events()) {
      t += 500;
      p.onEvent(e);
    }
    p.finish();
    const text = s.out.join("");
    assert.ok(!text.includes("\u001b["));
    assert.match(text, /^org\/m: downloading 2 files, 2\.0 MB$/m);
    assert.match(text, /^a\.safetensors: resuming at 500 kB of 2\.0 MB$/m);
    assert.match(text, /^a\.safetensors {2}2\.0 MB in 1\.5s \(1\.0 MB\/s\)$/m);
    assert.match(text, /^total 100% 2\.0 MB \/ 2\.0 MB {2}\d+(\.\d)? [kM]B\/s {2}ETA 0\.0s$/m);
  });

  test("on a terminal: a bar per file and one for the total, redrawn in place", () => {
    let t = 0;
    const s = sink(true);
    const p = downloadProgress(s, () => t);
    const evs = events();
    for (const e of evs.slice(0, 3)) {
      t += 500;
      p.onEvent(e);
    }
    const live = s.out.join("");
    assert.match(live, /\[#{10}-{10}\] a\.safetensors {2}1\.0 MB \/ 2\.0 MB {2}1\.0 MB\/s {2}ETA 1\.0s/);
    assert.match(live, /\[#{10}-{10}\] total {2}50% 1\.0 MB \/ 2\.0 MB/);
    // Cursor up over the live lines, then clear to the end of the screen.
    assert.match(live.replaceAll("\u001b", "ESC"), /ESC\[\d+AESC\[J/, "the live lines are redrawn in place");
    for (const e of evs.slice(3)) {
      t += 500;
      p.onEvent(e);
    }
    p.finish();
    assert.match(s.out.join(""), /total 100% /);
  });
});
