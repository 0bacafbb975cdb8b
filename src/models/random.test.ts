/**
 * Random-weight checkpoints: the real layout of each family (Phi-3's fused qkv / gate_up rows), loadable by the
 * normal loader, the same bytes for the same seed, and a model that runs.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Checkpoint } from "../io/safetensors/index.js";
import { tidy } from "../tensor/scope.js";
import { testBackend } from "../testing/backends.js";
import { fixture } from "../testing/fixtures.js";
import { loadModel } from "./load.js";
import { writeRandomCheckpoint } from "./random.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-random-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("a random Phi-3 checkpoint stores fused qkv / gate_up rows that load back as the projections", async () => {
  const config = JSON.parse(readFileSync(fixture("tiny-imp-phi3", "config.json"), "utf8")) as Record<
    string,
    unknown
  >;
  const dir = join(tmp, "phi3");
  writeRandomCheckpoint(config, dir, { seed: 3, dtype: "f32", maxShardBytes: 200_000 });
  const ck = Checkpoint.open(dir);
  const names = ck.names();
  const hidden = config.hidden_size as number;
  const inter = config.intermediate_size as number;
  assert.deepEqual(ck.info("model.layers.1.self_attn.qkv_proj.weight").shape, [3 * hidden, hidden]);
  assert.deepEqual(ck.info("model.layers.0.mlp.gate_up_proj.weight").shape, [2 * inter, hidden]);
  assert.ok(
    !names.some((n) => /^model\.layers\..*\.(q|k|v|gate|up)_proj\./.test(n)),
    "no unfused projections",
  );
  const fused = new Float32Array(ck.readBytes("model.layers.1.self_attn.qkv_proj.weight").buffer);
  ck.close();

  const backend = await testBackend("wasm");
  const { model } = await loadModel(dir, { backend, dtype: "f32" });
  try {
    const params = new Map(model.namedParameters());
    const k = params.get("model.layers.1.self_attn.k_proj.weight")!.value!.toF32();
    assert.deepEqual(k, fused.slice(hidden * hidden, 2 * hidden * hidden), "k_proj is the fused rows q…q+kv");
    const q = params.get("model.layers.1.self_attn.q_proj.weight")!.value!.toF32();
    assert.notDeepEqual(q, k);
    const logits = tidy(() => model.logits(model.forward(model.embedTokens([1, 5, 7]))).toF32());
    assert.ok(logits.every(Number.isFinite));
  } finally {
    model.dispose();
  }
  const again = join(tmp, "phi3-again");
  writeRandomCheckpoint(config, again, { seed: 3, dtype: "f32", maxShardBytes: 200_000 });
  const a = Checkpoint.open(dir);
  const b = Checkpoint.open(again);
  for (const n of a.names()) assert.deepEqual(a.readBytes(n), b.readBytes(n), n);
  a.close();
  b.close();
});
