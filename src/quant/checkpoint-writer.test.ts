/**
 * One checkpoint writer for `imp quantize` and `imp merge` / full fine-tuning: saving a model loaded as stored and
 * exporting the base with no edits write the same folder, byte for byte, in every layout (plain, imp-v1 fused Wqkv,
 * Phi-3 fused and sharded, LLaVA-1.5 with its CLIP folder); and a quantized save keeps the base's tensor names
 * and files, fused tensors fused.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Checkpoint } from "../io/safetensors/index.js";
import { loadModel } from "../models/load.js";
import { testBackend } from "../testing/backends.js";
import { fixture } from "../testing/fixtures.js";
import { exportCheckpoint } from "../train/export-checkpoint.js";
import { saveModelFolder } from "./save.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-writer-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const FIXTURES = ["tiny-imp-phi2", "tiny-imp-qwen2", "tiny-imp-v1-phi2", "tiny-imp-phi3", "tiny-llava15"];

function files(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

/** Every tensor of `part` is in `whole`, with the same dtype, shape and bytes. */
function sameTensors(part: string, whole: string): void {
  const [a, b] = [Checkpoint.open(part), Checkpoint.open(whole)];
  try {
    assert.ok(a.names().length > 0);
    for (const n of a.names()) {
      assert.deepEqual([a.info(n).dtype, a.info(n).shape], [b.info(n).dtype, b.info(n).shape], n);
      assert.ok(Buffer.from(a.readBytes(n)).equals(Buffer.from(b.readBytes(n))), `${n} differs`);
    }
  } finally {
    a.close();
    b.close();
  }
}

describe("one checkpoint writer", () => {
  for (const name of FIXTURES)
    test(`${name}: a model saved as loaded = the base exported with no edits`, async () => {
      const loaded = await loadModel(fixture(name), { backend: await testBackend("js") });
      const saved = join(tmp, `${name}-saved`);
      const exported = join(tmp, `${name}-exported`);
      try {
        saveModelFolder(loaded, saved);
      } finally {
        loaded.model.dispose();
      }
      exportCheckpoint(fixture(name), exported, () => null);
      assert.deepEqual(files(saved), files(exported));
      assert.ok(files(saved).includes("config.json"));
      for (const f of files(saved)) {
        // A written CLIP tower keeps only the tensors the model reads (not the last layer, which select layer
        // −2 drops, nor a text tower), each as stored; the export copies the tower's folder whole.
        if (f === "clip-vision/model.safetensors") {
          sameTensors(join(saved, f), join(exported, f));
          continue;
        }
        assert.ok(readFileSync(join(saved, f)).equals(readFileSync(join(exported, f))), `${f} differs`);
      }
    });

  for (const name of FIXTURES)
    test(`${name}: a q4 save keeps the base's tensor names, in the base's files`, async () => {
      const loaded = await loadModel(fixture(name), { backend: await testBackend("js"), dtype: "q4" });
      const out = join(tmp, `${name}-q4`);
      try {
        saveModelFolder(loaded, out);
      } finally {
        loaded.model.dispose();
      }
      const [base, q] = [Checkpoint.open(fixture(name)), Checkpoint.open(out)];
      try {
        const layout = (c: Checkpoint) => c.files.map((f) => [f.path.split("/").pop(), f.names().sort()]);
        assert.deepEqual(layout(q), layout(base));
        assert.ok(
          q.files.some((f) => f.entries.some((e) => e.dtype === "U8")),
          "some tensors are quantized",
        );
      } finally {
        base.close();
        q.close();
      }
    });
});
