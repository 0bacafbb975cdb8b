/**
 * The checkpoint loader: every layout and schema it must read, the formats it can load weights into, and the
 * errors it gives for bad folders (each naming the file, tensor or key, and expected vs found).
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Checkpoint, writeSafetensors } from "../io/safetensors/index.js";
import { modelParity } from "../parity/model.js";
import { testBackend } from "../testing/backends.js";
import { fixture } from "../testing/fixtures.js";
import { CheckpointError } from "../util/errors.js";
import { parseModelConfig } from "./config.js";
import { loadModel } from "./load.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-load-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function copyFixture(name: string): string {
  const d = mkdtempSync(join(tmp, `${name}-`));
  cpSync(fixture(name), d, { recursive: true });
  return d;
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
  const file = join(dir, "config.json");
  const c = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  edit(c);
  writeFileSync(file, JSON.stringify(c));
}

/** Rewrites a folder's single model.safetensors through a name map (null drops a tensor). */
function rewriteWeights(
  dir: string,
  rename: (name: string) => string | null,
  from = join(dir, "model.safetensors"),
): void {
  const ck = Checkpoint.open(from);
  const entries = ck.names().flatMap((n) => {
    const to = rename(n);
    if (to === null) return [];
    const e = ck.info(n);
    return [{ name: to, dtype: e.dtype, shape: [...e.shape], data: ck.readBytes(n) }];
  });
  ck.close();
  writeSafetensors(join(dir, "model.safetensors"), entries);
}

async function rejects(dir: string, pattern: RegExp): Promise<void> {
  const backend = await testBackend("js");
  await assert.rejects(loadModel(dir, { backend }), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected a CheckpointError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

describe("config.json schemas", () => {
  test("imp (Phi-2) without size keys falls back to the real Phi-2 sizes, not Phi-1's", () => {
    const c = parseModelConfig({ model_type: "imp" }, "config.json");
    assert.equal(c.llm.hidden, 2560);
    assert.equal(c.llm.layers, 32);
    assert.equal(c.llm.heads, 32);
    assert.equal(c.llm.intermediate, 10240);
    assert.equal(c.llm.rotaryDim, 32);
    assert.equal(c.llm.vocab, 51200);
    assert.equal(c.llm.family, "phi2");
  });
  test("imp-v1 phi-msft keys", () => {
    const c = parseModelConfig(
      { model_type: "imp", n_embd: 64, n_head: 4, n_head_kv: null, n_inner: null, n_layer: 2, rotary_dim: 6 },
      "config.json",
    );
    assert.deepEqual(
      [c.llm.hidden, c.llm.heads, c.llm.kvHeads, c.llm.intermediate, c.llm.rotaryDim],
      [64, 4, 4, 256, 6],
    );
  });
  test("vision layers run up to the selected layer", () => {
    const json = JSON.parse(readFileSync(fixture("tiny-imp-qwen2", "config.json"), "utf8")) as Record<
      string,
      unknown
    >;
    const c = parseModelConfig(json, "config.json");
    assert.equal(c.vision?.totalLayers, 3);
    assert.equal(c.vision?.layers, 2);
    assert.equal(c.llm.kvHeads, 2);
  });
  test("unsupported model_type is refused by name", () => {
    assert.throws(
      () => parseModelConfig({ model_type: "gpt2" }, "x/config.json"),
      /model_type "gpt2" is not supported/,
    );
  });
  test("a wrong type names the key", () => {
    assert.throws(
      () => parseModelConfig({ model_type: "imp_qwen2", hidden_size: "64" }, "x/config.json"),
      /x\/config.json: "hidden_size" must be a number/,
    );
  });
});

describe("loading checkpoint folders", () => {
  test("bad folders: no folder, no config, no weights", async () => {
    await rejects(join(tmp, "nope"), /does not exist/);
    const empty = mkdtempSync(join(tmp, "empty-"));
    await rejects(empty, /has no config\.json/);
    const noWeights = copyFixture("tiny-imp-phi2");
    unlinkSync(join(noWeights, "model.safetensors"));
    await rejects(noWeights, /has neither model\.safetensors nor model\.safetensors\.index\.json/);
  });

  test("a missing tensor is named with its expected shape", async () => {
    const d = copyFixture("tiny-imp-qwen2");
    rewriteWeights(d, (n) => (n === "model.layers.1.mlp.up_proj.weight" ? null : n));
    await rejects(d, /"model\.layers\.1\.mlp\.up_proj\.weight" is missing; expected shape \[128,64\]/);
  });

  test("a config that contradicts the weights names the tensor, expected and found shapes", async () => {
    const d = copyFixture("tiny-imp-qwen2");
    editConfig(d, (c) => {
      c.intermediate_size = 96;
    });
    await rejects(d, /has shape \[128,64\]; "model\.layers\.0\.mlp\.gate_proj\.weight" needs \[96,64\]/);
  });

  test("a non-float weight is refused", async () => {
    const d = copyFixture("tiny-imp-phi2");
    const ck = Checkpoint.open(join(d, "model.safetensors"));
    const entries = ck.names().map((n) => {
      const e = ck.info(n);
      const data = ck.readBytes(n);
      return n === "lm_head.bias"
        ? { name: n, dtype: "I32" as const, shape: [...e.shape], data }
        : { name: n, dtype: e.dtype, shape: [...e.shape], data };
    });
    ck.close();
    writeSafetensors(join(d, "model.safetensors"), entries);
    await rejects(d, /"lm_head\.bias" is I32; weights must be F32, F16 or BF16/);
  });

  test("LLaVA-1.5 whose config names a hub CLIP needs a local folder", async () => {
    const d = copyFixture("tiny-llava15");
    editConfig(d, (c) => {
      c.mm_vision_tower = "openai/clip-vit-large-patch14-336";
    });
    await rejects(d, /names the vision tower "openai\/clip-vit-large-patch14-336".*--vision-tower/);
    const backend = await testBackend("js");
    const { model } = await loadModel(d, { backend, visionTower: join(d, "clip-vision") });
    assert.equal(model.imageTokens, 9);
    model.dispose();
  });

  test("extra tensors the official code ignores are ignored (post_layernorm, a LLaVA copy of the tower)", async () => {
    const backend = await testBackend("js");
    for (const name of ["tiny-imp-qwen2", "tiny-imp-v1-phi2", "tiny-llava15"]) {
      const { model } = await loadModel(fixture(name), { backend });
      model.dispose();
    }
  });
});

describe("layouts", () => {
  for (const nested of [false, true])
    test(`transformers-native LLaVA (${nested ? "model.language_model.*" : "language_model.*"}) matches the goldens`, async () => {
      const d = fixture("tiny-llava15");
      const rename = (n: string): string | null => {
        let m: RegExpExecArray | null;
        if ((m = /^model\.mm_projector\.(0|2)\.(.+)$/.exec(n)))
          return `${nested ? "model." : ""}multi_modal_projector.${m[1] === "0" ? "linear_1" : "linear_2"}.${m[2]}`;
        if (n.startsWith("model.vision_tower.")) return null;
        if (n.startsWith("lm_head.")) return nested ? n : `language_model.${n}`;
        return nested ? `model.language_model.${n.slice(6)}` : `language_model.${n}`;
      };
      // LLM + projector renamed, the CLIP tower's tensors added under vision_tower.*: one file, as llava-hf ships.
      const main = Checkpoint.open(join(d, "model.safetensors"));
      const clip = Checkpoint.open(join(d, "clip-vision", "model.safetensors"));
      const entries = [
        ...main.names().flatMap((n) => {
          const to = rename(n);
          if (to === null) return [];
          const e = main.info(n);
          return [{ name: to, dtype: e.dtype, shape: [...e.shape], data: main.readBytes(n) }];
        }),
        ...clip.names().map((n) => {
          const e = clip.info(n);
          return {
            name: `${nested ? "model." : ""}vision_tower.${n}`,
            dtype: e.dtype,
            shape: [...e.shape],
            data: clip.readBytes(n),
          };
        }),
      ];
      main.close();
      clip.close();
      const hf = mkdtempSync(join(tmp, "llava-hf-"));
      writeSafetensors(join(hf, "model.safetensors"), entries);
      cpSync(join(d, "golden.safetensors"), join(hf, "golden.safetensors"));
      const flat = JSON.parse(readFileSync(join(d, "config.json"), "utf8")) as Record<string, unknown>;
      const vision = JSON.parse(readFileSync(join(d, "clip-vision", "config.json"), "utf8")) as Record<
        string,
        unknown
      >;
      const text: Record<string, unknown> = { model_type: "llama" };
      for (const k of [
        "hidden_size",
        "intermediate_size",
        "num_hidden_layers",
        "num_attention_heads",
        "num_key_value_heads",
        "rms_norm_eps",
        "vocab_size",
        "max_position_embeddings",
      ])
        text[k] = flat[k];
      writeFileSync(
        join(hf, "config.json"),
        JSON.stringify({
          architectures: ["LlavaForConditionalGeneration"],
          model_type: "llava",
          text_config: text,
          vision_config: vision,
          vision_feature_layer: -2,
          vision_feature_select_strategy: "default",
          image_token_index: flat.image_token_index,
          projector_hidden_act: "gelu",
        }),
      );
      const results = await modelParity(hf, { backend: await testBackend("js") });
      assert.deepEqual(
        results.filter((r) => !r.ok).map((r) => r.output),
        [],
      );
    });

  test("a sharded checkpoint re-sharded differently loads the same", async () => {
    const d = copyFixture("tiny-imp-phi3");
    const results = await modelParity(d, { backend: await testBackend("js") });
    assert.ok(results.every((r) => r.ok));
  });
});

describe("weight formats at load", () => {
  // Measured bounds for these random tiny models (hidden 64): half weights stay close; q8 keeps every greedy
  // token; q4's noise (≈ 1/16 of each block's range) flips tokens of a random model, so only logits are bounded.
  const bounds = {
    f16: { logits: 2e-3, tokens: true },
    q8: { logits: 4e-2, tokens: true },
    q4: { logits: 0.4, tokens: false },
  };
  for (const [dtype, b] of Object.entries(bounds) as Array<
    ["f16" | "q8" | "q4", { logits: number; tokens: boolean }]
  >)
    for (const name of ["tiny-imp-phi2", "tiny-imp-qwen2", "tiny-llava15"])
      test(`${dtype}: ${name}`, async () => {
        const r = await modelParity(fixture(name), {
          backend: await testBackend("js"),
          dtype,
          tolerance: b.logits,
        });
        const byName = Object.fromEntries(r.map((x) => [x.output, x]));
        assert.ok(byName.logits!.ok, `logits error ${byName.logits!.error} > ${b.logits}`);
        if (b.tokens) assert.ok(byName.greedy_tokens!.ok, byName.greedy_tokens!.detail);
      });

  test("q8/q4 quantize the LLM matrices; norms and biases stay f32; the tower stays half", async () => {
    for (const repackQ4 of [undefined, false]) {
      const { model } = await loadModel(fixture("tiny-imp-phi2"), {
        backend: await testBackend("js"),
        dtype: "q4",
        repackQ4,
      });
      const p = Object.fromEntries(model.namedParameters());
      // q4 matrices are repacked for the decode kernels unless asked not to; the embedding table stays q4.
      const matrix = repackQ4 === false ? "q4" : "q4x4";
      assert.equal(p["model.layers.0.self_attn.q_proj.weight"]!.value.dtype, matrix);
      assert.equal(p["model.embed_tokens.weight"]!.value.dtype, "q4");
      assert.equal(p["lm_head.weight"]!.value.dtype, matrix);
      assert.equal(p["model.layers.0.input_layernorm.weight"]!.value.dtype, "f32");
      assert.equal(p["lm_head.bias"]!.value.dtype, "f32");
      assert.equal(p["model.mm_projector.0.weight"]!.value.dtype, "f16");
      model.dispose();
    }
  });
});
