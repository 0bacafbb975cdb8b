/**
 * Quantized checkpoints: `saveModelFolder` after a q8/q4 load writes a folder that loads back to exactly the same
 * weights (the same block bytes), in every input layout (Imp-v1.5, imp-v1 fused, Phi-3 fused and sharded,
 * LLaVA-1.5 with its separate CLIP folder), and that is smaller.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadModel } from "../models/load.js";
import { modelParity } from "../parity/model.js";
import { testBackend } from "../testing/backends.js";
import { fixture } from "../testing/fixtures.js";
import { saveModelFolder } from "./save.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-quant-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function folderBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    const s = statSync(join(dir, f));
    if (s.isFile() && f.endsWith(".safetensors")) n += s.size;
  }
  return n;
}

describe("quantized checkpoints", () => {
  for (const name of ["tiny-imp-phi2", "tiny-imp-v1-phi2", "tiny-imp-phi3", "tiny-llava15"])
    for (const dtype of ["q8", "q4"] as const)
      test(`${name} ${dtype}: saved and reloaded weights are the same bytes`, async () => {
        const backend = await testBackend("js");
        const loaded = await loadModel(fixture(name), { backend, dtype });
        const out = join(tmp, `${name}-${dtype}`);
        saveModelFolder(loaded, out);
        const again = await loadModel(out, { backend });
        const a = loaded.model.namedParameters();
        const b = Object.fromEntries(again.model.namedParameters());
        for (const [n, p] of a) {
          const q = b[n]!.value;
          assert.equal(q.dtype, p.value.dtype, `${n}: dtype`);
          assert.deepEqual(q.shape, p.value.shape, `${n}: shape`);
          assert.deepEqual(q.toBytes(), p.value.toBytes(), `${n}: bytes`);
        }
        loaded.model.dispose();
        again.model.dispose();
        assert.ok(
          folderBytes(out) < folderBytes(fixture(name)) || name === "tiny-imp-v1-phi2",
          "smaller on disk",
        );
        cpSync(fixture(name, "golden.safetensors"), join(out, "golden.safetensors"));
        const r = await modelParity(out, { backend, dtype: "auto", tolerance: dtype === "q8" ? 4e-2 : 0.4 });
        assert.ok(r.find((x) => x.output === "logits")!.ok);
      });

  test("an existing output folder is refused unless asked to replace it", async () => {
    const backend = await testBackend("js");
    const loaded = await loadModel(fixture("tiny-imp-qwen2"), { backend, dtype: "q8" });
    const out = join(tmp, "exists");
    saveModelFolder(loaded, out);
    assert.throws(() => saveModelFolder(loaded, out), /already exists/);
    saveModelFolder(loaded, out, { overwrite: true });
    loaded.model.dispose();
  });
});
