// Whole runs as library calls: full fine-tuning writes a checkpoint in the base's layout; LoRA on a q8 base
// (QLoRA-style) learns; validate_images finds an unreadable image before training; each LLM family trains.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Checkpoint, writeSafetensors } from "../io/safetensors/index.js";
import { testBackend } from "../testing/backends.js";
import { makeTinyBase, writeTinyDataset } from "../testing/training-material.js";
import { Rng } from "../util/random.js";
import { readMetrics } from "./metrics.js";
import { resolveRecipe } from "./recipe.js";
import { runTraining } from "./run.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-run-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const data = writeTinyDataset(join(tmp, "data"), 4);
const mixture = { sources: [{ path: data.chats, images: data.images }] };

function sink() {
  const lines: string[] = [];
  return { lines, write: (s: string) => lines.push(s) };
}

async function run(
  base: string,
  output: string,
  extra: Record<string, unknown>,
  opts: { stopAfter?: number; resume?: boolean } = {},
) {
  const s = sink();
  const recipe = resolveRecipe(
    {
      stage: 2,
      base,
      output: join(tmp, output),
      data: mixture,
      global_batch: 5,
      max_length: 256,
      connector_init: "base",
      lora: { rank: 4, alpha: 8, dropout: 0 },
      warmup_ratio: 0,
      schedule: "constant",
      ...extra,
    },
    "test",
  );
  const summary = await runTraining(recipe, { backend: await testBackend("wasm"), sink: s, ...opts });
  return { summary, log: s.lines.join(""), metrics: readMetrics(join(tmp, output, "metrics.jsonl")) };
}

describe("training runs", () => {
  test("full fine-tuning exports a whole checkpoint in the base's layout; validate_images skips a bad image", async () => {
    const base = makeTinyBase(join(tmp, "base-qwen2"));
    writeFileSync(join(data.images, "broken.png"), "not a png");
    const bad = join(tmp, "data", "with-broken.jsonl");
    writeFileSync(
      bad,
      `${readFileSync(data.chats, "utf8")}${JSON.stringify({
        id: "b",
        image: "broken.png",
        conversations: [
          { from: "human", value: "<image>" },
          { from: "gpt", value: "x" },
        ],
      })}\n`,
    );
    const { summary, log } = await run(base, "full", {
      train: "full",
      lr: 1e-3,
      max_steps: 2,
      validate_images: true,
      skip_bad: true,
      data: { sources: [{ path: bad, images: data.images }] },
    });
    assert.equal(summary.skippedRecords, 1);
    assert.match(log, /skipped bad record: .*with-broken\.jsonl:6: unreadable image/);
    assert.match(log, /training full: .* 5 examples/);
    const out = join(tmp, "full", "model");
    assert.ok(existsSync(join(out, "config.json")) && existsSync(join(out, "tokenizer.json")));
    const [a, b] = [Checkpoint.open(base), Checkpoint.open(out)];
    assert.deepEqual(b.names(), a.names());
    const same = (n: string) => Buffer.from(a.readBytes(n)).equals(Buffer.from(b.readBytes(n)));
    assert.ok(!same("model.layers.0.mlp.down_proj.weight"), "LLM weights trained");
    assert.ok(!same("model.mm_projector.0.weight"), "connector trained");
    assert.ok(
      same("model.vision_tower.vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight"),
      "tower frozen",
    );
    a.close();
    b.close();
  });

  test("LoRA on a q8 base (QLoRA-style) learns", async () => {
    const base = makeTinyBase(join(tmp, "base-q8"));
    const { metrics } = await run(base, "qlora", {
      base_dtype: "q8",
      lr: 2e-2,
      max_steps: 8,
      global_batch: 2,
    });
    const first = (metrics[0]!.loss + metrics[1]!.loss) / 2;
    const last = (metrics[6]!.loss + metrics[7]!.loss) / 2;
    assert.ok(last < first - 0.5, `loss ${first} → ${last}`);
    assert.ok(existsSync(join(tmp, "qlora", "adapter_model.safetensors")));
  });

  test("stopAfter ends a run at that step with a checkpoint and no outputs; resumed, it ends as one run through", async () => {
    const base = makeTinyBase(join(tmp, "base-stop"));
    const recipe = { max_steps: 4, lr: 1e-2, connector_lr: 1e-2, save_every: 3 };
    const whole = await run(base, "stop-whole", recipe);
    assert.equal(whole.summary.stoppedAt, null);
    const part = await run(base, "stop-part", recipe, { stopAfter: 2 });
    assert.equal(part.summary.stoppedAt, 2);
    assert.deepEqual(part.summary.outputs, []);
    assert.ok(existsSync(join(tmp, "stop-part", "checkpoints", "step-000002")));
    assert.ok(!existsSync(join(tmp, "stop-part", "adapter_model.safetensors")));
    assert.deepEqual(
      part.metrics.map((m) => m.step),
      [1, 2],
    );
    // Asked again to stop there, it has nothing to do; resumed to the end, it is the uninterrupted run.
    assert.equal((await run(base, "stop-part", recipe, { stopAfter: 2, resume: true })).summary.stoppedAt, 2);
    const rest = await run(base, "stop-part", recipe, { resume: true });
    assert.equal(rest.summary.stoppedAt, null);
    assert.equal(rest.summary.resumedFrom, 2);
    for (const f of ["adapter_model.safetensors", "mm_projector.safetensors"])
      assert.ok(readFileSync(join(tmp, "stop-whole", f)).equals(readFileSync(join(tmp, "stop-part", f))), f);
  });

  test("connector_init loads a stage-1 connector over the base (lr 0 keeps it exactly)", async () => {
    const base = makeTinyBase(join(tmp, "base-init"));
    const ck = Checkpoint.open(base);
    const names = ck.names().filter((n) => n.startsWith("model.mm_projector."));
    const rng = new Rng(4);
    const stage1 = join(tmp, "stage1-connector.safetensors");
    writeSafetensors(
      stage1,
      names.map((n) => {
        const shape = [...ck.info(n).shape];
        const v = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
        return { name: n, dtype: "F32" as const, shape, data: new Uint8Array(v.buffer) };
      }),
    );
    ck.close();
    await run(base, "init", { connector_init: stage1, lr: 0, connector_lr: 0, max_steps: 1 });
    const [a, b] = [Checkpoint.open(stage1), Checkpoint.open(join(tmp, "init", "mm_projector.safetensors"))];
    for (const n of names) assert.ok(Buffer.from(a.readBytes(n)).equals(Buffer.from(b.readBytes(n))), n);
    a.close();
    b.close();
  });

  for (const name of ["tiny-imp-phi2", "tiny-imp-phi3", "tiny-imp-v1-phi2"])
    test(`${name}: LoRA training lowers the loss`, async () => {
      const base = makeTinyBase(join(tmp, `base-${name}`), name);
      const { metrics } = await run(base, `lora-${name}`, { lr: 2e-2, max_steps: 6, global_batch: 2 });
      assert.ok(metrics.every((m) => Number.isFinite(m.loss) && m.tokens > 0));
      assert.ok(metrics[5]!.loss < metrics[0]!.loss, metrics.map((m) => m.loss.toFixed(3)).join(" "));
    });
});
