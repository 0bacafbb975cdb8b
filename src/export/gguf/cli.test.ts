/** `imp export gguf` as a user runs it: files written and reported, help, and a usage error. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { runCli } from "../../testing/cli.js";
import { writeTinyModel } from "../../testing/tiny-model.js";
import { readGguf } from "./reader.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-export-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("imp export gguf", () => {
  test("writes the LLM and the mmproj and reports them", async () => {
    const model = writeTinyModel(join(tmp, "tiny-imp-qwen2"));
    const out = join(tmp, "out");
    const r = await runCli(["export", "gguf", "--model", model, "--out", out, "--quant", "q8_0", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      llm: { file: string; tensors: number };
      mmproj: { file: string };
    };
    assert.deepEqual(readdirSync(out).sort(), ["mmproj-tiny-imp-qwen2-F16.gguf", "tiny-imp-qwen2-Q8_0.gguf"]);
    const g = readGguf(report.llm.file);
    assert.equal(g.get("general.file_type"), 7, "MOSTLY_Q8_0");
    assert.equal(g.tensors.length, report.llm.tensors);
    assert.equal(readGguf(report.mmproj.file).get("general.architecture"), "clip");
  });

  test("--help shows an example; a missing --out is a usage error", async () => {
    const help = await runCli(["export", "gguf", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--quant <format>/);
    assert.match(help.stdout, /Example:\n {2}imp export gguf --model/);
    const bad = await runCli(["export", "gguf", "--model", tmp]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--out/);
  });
});
