/** `imp parity` as a user runs it: every fixture folder on both backends, a failing fixture, a wrong folder. */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Checkpoint, writeSafetensors } from "../../io/safetensors/index.js";
import { fixtureKind } from "../../parity/fixture.js";
import { runCli } from "../../testing/cli.js";
import { fixture, fixturesDir } from "../../testing/fixtures.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-parity-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const dirs = readdirSync(fixturesDir())
  .map((f) => join(fixturesDir(), f))
  .filter((d) => {
    try {
      fixtureKind(d);
      return true;
    } catch {
      return false;
    }
  });

describe("imp parity", () => {
  test("every model and preprocess fixture passes on js and wasm", async () => {
    assert.ok(dirs.length >= 7, `fixture folders found: ${dirs.length}`);
    const r = await runCli(["parity", ...dirs]);
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const lines = r.stdout.trim().split("\n");
    assert.ok(
      lines.every((l) => / ok$/.test(l)),
      r.stdout,
    );
    for (const b of ["js", "wasm"])
      assert.ok(lines.some((l) => l.includes(` ${b} `) && l.includes("greedy_tokens")));
    assert.ok(lines.some((l) => l.startsWith("preprocess-clip")));
  });

  test("a fixture whose golden disagrees fails with exit 1 and names the output", async () => {
    const d = join(tmp, "tiny-imp-qwen2");
    cpSync(fixture("tiny-imp-qwen2"), d, { recursive: true });
    const g = Checkpoint.open(join(d, "golden.safetensors"));
    const entries = g.names().map((n) => {
      const e = g.info(n);
      const data = g.readBytes(n);
      if (n === "logits") new Float32Array(data.buffer, data.byteOffset, 1)[0]! += 1; // one value off by 1
      return { name: n, dtype: e.dtype, shape: [...e.shape], data };
    });
    g.close();
    writeSafetensors(join(d, "golden.safetensors"), entries);
    const r = await runCli(["parity", "--backend", "js", d]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /logits .* FAIL/);
    assert.match(r.stdout, /vision_features .* ok/);
  });

  test("a folder of another kind is refused with a clear message", async () => {
    const d = join(tmp, "not-a-fixture");
    cpSync(fixture("tiny-imp-phi2", "config.json"), join(d, "config.json"), { recursive: true });
    writeFileSync(join(d, "notes.txt"), "hello");
    const r = await runCli(["parity", d]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not a parity fixture: expected golden\.safetensors/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, "no stack trace without --debug");
  });
});
