/**
 * The bench's llama.cpp vision peer comes from the sources node-llama-cpp ships: they are found in this install,
 * a run that may not build says so, and a folder named by $IMP_BENCH_LLAMA_BIN without the CLI is refused by name.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { findOrBuildMtmd, llamaCppBundle } from "../scripts/bench/mtmd-build.js";

const dir = mkdtempSync(join(tmpdir(), "imp-mtmd-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("node-llama-cpp's llama.cpp sources are found", () => {
  const found = llamaCppBundle();
  assert.ok(found, "node_modules/node-llama-cpp/llama/gitRelease.bundle");
  assert.match(found.bundle, /node-llama-cpp\/llama\/gitRelease\.bundle$/);
  assert.match(found.release, /^llama\.cpp /);
});

test("without a build and not allowed to build, the column is skipped with the reason", async () => {
  const saved = process.env.IMP_BENCH_LLAMA_BIN;
  delete process.env.IMP_BENCH_LLAMA_BIN;
  try {
    const r = await findOrBuildMtmd(dir, () => {}, false);
    assert.equal(r.bin, null);
    assert.ok(r.bin === null && r.why.startsWith("not built yet"), JSON.stringify(r));
  } finally {
    if (saved !== undefined) process.env.IMP_BENCH_LLAMA_BIN = saved;
  }
});

test("$IMP_BENCH_LLAMA_BIN naming a folder without the CLI is named in the reason", async () => {
  const saved = process.env.IMP_BENCH_LLAMA_BIN;
  process.env.IMP_BENCH_LLAMA_BIN = dir;
  try {
    const r = await findOrBuildMtmd(dir, () => {});
    assert.ok(
      r.bin === null && r.why === `$IMP_BENCH_LLAMA_BIN=${dir} holds no llama-mtmd-cli`,
      JSON.stringify(r),
    );
  } finally {
    if (saved === undefined) delete process.env.IMP_BENCH_LLAMA_BIN;
    else process.env.IMP_BENCH_LLAMA_BIN = saved;
  }
});
