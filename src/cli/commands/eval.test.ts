/**
 * `imp eval` through the real binary entry: score prints the official numbers, and a run killed with SIGKILL
 * resumes where it stopped.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gqaData, popeData } from "../../testing/benchmark-folders.js";
import { type FakeServer, startFakeServer } from "../../testing/fake-openai-server.js";
import { fixture, repoRoot } from "../../testing/fixtures.js";
import { tempFolder } from "../../testing/temp-folder.js";
import { writeTinyModel } from "../../testing/tiny-model.js";

function imp(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "src/cli/main.ts"), ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((res) =>
    child.on("close", (code) => res({ code, stdout, stderr })),
  );
  return { child, done };
}

const lines = (f: string) =>
  existsSync(f)
    ? readFileSync(f, "utf8")
        .split("\n")
        .filter((l) => l.endsWith("}")).length
    : 0;

/** The answers file's records. */
const answers = <T>(f: string): T[] =>
  readFileSync(f, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as T);

describe("imp eval (CLI)", () => {
  let server: FakeServer;
  const tmp = tempFolder();
  before(async () => {
    server = await startFakeServer();
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it("score prints the official numbers as one JSON object", async () => {
    const r = await imp(["eval", "score", "pope", fixture("eval", "pope")]).done;
    assert.equal(r.code, 0, r.stderr);
    const expected = JSON.parse(readFileSync(fixture("eval", "expected.json"), "utf8")) as {
      primary: { pope_f1: Record<string, number> };
    };
    assert.deepEqual((JSON.parse(r.stdout) as { f1: unknown }).f1, expected.primary.pope_f1);
    const bad = await imp(["eval", "score", "pope", join(tmp.dir, "nowhere")]).done;
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /imp: .*nowhere: folder not found/);
  });

  it("a run killed with SIGKILL resumes without asking answered questions again", async () => {
    const data = popeData(8);
    const out = join(tmp.dir, "run", "pope.jsonl");
    const args = [
      "eval",
      "run",
      "pope",
      "--data",
      data.dir,
      "--endpoint",
      server.url,
      "--out",
      out,
      "--no-progress",
    ];
    server.delayMs = () => 25;
    const first = imp(args);
    while (lines(out) < 4) await new Promise((r) => setTimeout(r, 20));
    first.child.kill("SIGKILL");
    await first.done;
    const k = lines(out);
    assert.ok(k >= 4 && k < 24, `killed after ${k} answers`);
    const askedBefore = server.seen.length;
    server.delayMs = () => 0;
    const second = await imp(args).done;
    assert.equal(second.code, 0, second.stderr);
    const summary = JSON.parse(second.stdout) as {
      answered_before: number;
      answered_now: number;
      missing: number;
    };
    assert.equal(summary.answered_before + summary.answered_now, 24);
    assert.equal(summary.missing, 0);
    assert.equal(server.seen.length - askedBefore, summary.answered_now);
    const ids = answers<{ question_id: number }>(out).map((a) => a.question_id);
    assert.deepEqual(
      ids,
      Array.from({ length: 24 }, (_, i) => i + 1),
    );
    data.remove();
  });

  it("run takes --endpoint or --model, not both; a missing model folder is a clear error", async () => {
    const data = popeData(1);
    const base = ["eval", "run", "pope", "--data", data.dir, "--out", join(tmp.dir, "x.jsonl")];
    const both = await imp([...base, "--model", "/m", "--endpoint", "http://127.0.0.1:9"]).done;
    assert.equal(both.code, 1);
    assert.match(both.stderr, /--endpoint URL or --model DIR, not both/);
    const missing = await imp([...base, "--model", "/no/such/model", "--backend", "js"]).done;
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /\/no\/such\/model does not exist/);
    data.remove();
  });

  it("run answers with a local model folder end to end (files, summary)", async () => {
    const data = popeData(2);
    // The tiny byte-level vocabulary spends a token per character of the system prompt: widen the context.
    const model = writeTinyModel(join(tmp.dir, "model"), { max_position_embeddings: 1024 });
    const out = join(tmp.dir, "local.jsonl");
    const r = await imp([
      "eval",
      "run",
      "pope",
      "--data",
      data.dir,
      "--out",
      out,
      "--model",
      model,
      "--backend",
      "js",
      "--max-tokens",
      "4",
      "--no-progress",
    ]).done;
    assert.equal(r.code, 0, r.stderr);
    const rows = answers<{ model_id: string }>(out);
    assert.ok(rows.length > 0);
    assert.equal(rows[0]!.model_id, "model");
    data.remove();
  });

  it("run with no --model answers with the built-in model (--questions, --image-folder, --no-score)", async () => {
    const data = gqaData();
    const out = join(tmp.dir, "builtin-gqa.jsonl");
    const r = await imp([
      "eval",
      "run",
      "gqa",
      "--data",
      data.dir,
      "--questions",
      join(data.dir, "llava_gqa_testdev_balanced.jsonl"),
      "--image-folder",
      join(data.dir, "data", "images"),
      "--no-score",
      "--out",
      out,
      "--max-tokens",
      "4",
      "--no-progress",
    ]).done;
    assert.equal(r.code, 0, r.stderr);
    const rows = answers<{ question_id: string; model_id: string; text: string }>(out);
    assert.deepEqual(
      rows.map((row) => row.question_id),
      ["201", "202"],
    );
    assert.equal(rows[0]!.model_id, "imp-tiny");
    assert.ok(rows.every((row) => row.text.trim().length > 0));
    data.remove();
  });
});
