/**
 * `exportGguf` on the fixture models: names, shapes, types and metadata per architecture; tensor bytes equal to
 * what the loader makes (Q8_0/Q4_0 = our q8/q4 bytes, F16 = our f16 cast, fused and permuted rows included);
 * the tokenizer metadata; the mmproj layout; errors a user can hit.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { JsBackend } from "../../backend/js/backend.js";
import type { DType } from "../../formats/dtype.js";
import type { LoadedModel } from "../../models/load.js";
import { loadModel } from "../../models/load.js";
import { cast } from "../../tensor/ops/convert.js";
import { fixture } from "../../testing/fixtures.js";
import { writeTinyTokenizer } from "../../testing/tiny-tokenizer.js";
import { CheckpointError } from "../../util/errors.js";
import { exportGguf, exportGgufFromFolder } from "./export.js";
import { llmPlan } from "./llm.js";
import { mmprojPlan } from "./mmproj.js";
import { modelSource } from "./params.js";
import { type GgufFile, readGguf, readTensorBytes } from "./reader.js";
import { type GgufQuant, permuteRotaryRows, tensorType } from "./tensors.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-gguf-export-"));
const backend = new JsBackend();
after(() => {
  backend.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** A fixture copied with the test tokenizer (fixtures ship none). */
function prepare(name: string): string {
  const dir = join(tmp, "models", name);
  cpSync(fixture(name), dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { model_type: string };
  writeTinyTokenizer(dir, cfg.model_type);
  return dir;
}

const OUR_DTYPE: Record<GgufQuant, "f32" | "f16" | "q8" | "q4"> = {
  f32: "f32",
  f16: "f16",
  q8_0: "q8",
  q4_0: "q4",
};
const DTYPE_OF_TYPE: Record<string, DType> = { F32: "f32", F16: "f16", Q8_0: "q8", Q4_0: "q4" };

/** Bytes the GGUF tensor must hold, built from the loaded model's parameters. */
function expectedBytes(m: LoadedModel, parts: string[], type: string, permuteHeads?: number): Uint8Array {
  const params = new Map(m.model.namedParameters());
  const chunks = parts.map((p) => {
    const t = cast(params.get(p)!.value, DTYPE_OF_TYPE[type]!);
    const b = t.toBytes();
    t.dispose();
    return b;
  });
  const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  const rows = parts.reduce((a, p) => a + params.get(p)!.shape[0]!, 0);
  return permuteHeads ? permuteRotaryRows(all, rows, permuteHeads) : all;
}

const FIXTURES = ["tiny-imp-phi2", "tiny-imp-v1-phi2", "tiny-imp-qwen2", "tiny-imp-phi3", "tiny-llava15"];

describe("GGUF export of the fixture models", () => {
  const dirs = new Map<string, string>();
  before(() => {
    for (const f of FIXTURES) dirs.set(f, prepare(f));
  });

  for (const quant of ["q8_0", "q4_0", "f16"] as const)
    test(`${quant}: every LLM tensor holds the loader's bytes (fused and permuted rows too)`, async () => {
      for (const f of FIXTURES) {
        const dir = dirs.get(f)!;
        const out = join(tmp, `out-${f}-${quant}`);
        const r = await exportGgufFromFolder(dir, out, { quant, backend, mmproj: false });
        assert.equal(r.mmproj, null);
        const g = readGguf(r.llm.file);
        const m = await loadModel(dir, { backend, dtype: OUR_DTYPE[quant] });
        try {
          const plan = llmPlan(m.config.llm);
          assert.deepEqual(
            g.tensors.map((t) => t.name),
            plan.map((e) => e.name),
          );
          for (const e of plan) {
            const info = g.tensor(e.name);
            const type =
              e.kind === "vector" ? "F32" : quant === "f16" ? "F16" : quant === "q8_0" ? "Q8_0" : "Q4_0";
            assert.equal(info.type, type, `${f} ${e.name}`);
            assert.deepEqual(
              readTensorBytes(g, e.name),
              expectedBytes(m, e.parts, type, e.permuteHeads),
              `${f} ${quant} ${e.name}`,
            );
          }
        } finally {
          m.model.dispose();
        }
      }
    });

  test("per-architecture names, shapes and hyperparameters", async () => {
    const meta = async (f: string) => {
      const r = await exportGgufFromFolder(dirs.get(f)!, join(tmp, `meta-${f}`), { backend, mmproj: false });
      return readGguf(r.llm.file);
    };
    const shape = (g: GgufFile, n: string) => g.tensor(n).ne;
    const phi2 = await meta("tiny-imp-phi2");
    assert.equal(phi2.get("general.architecture"), "phi2");
    assert.equal(phi2.get("phi2.rope.dimension_count"), 6, "partial rotary: floor(0.4 · 16)");
    assert.equal(phi2.get("phi2.attention.layer_norm_epsilon"), Math.fround(1e-5));
    assert.deepEqual(shape(phi2, "blk.0.attn_qkv.weight"), [64, 192]);
    assert.deepEqual(shape(phi2, "blk.0.attn_qkv.bias"), [192]);
    for (const n of ["output.bias", "output_norm.bias", "blk.1.ffn_up.bias", "blk.1.attn_norm.bias"])
      assert.ok(
        phi2.tensors.some((t) => t.name === n),
        n,
      );
    assert.equal((await meta("tiny-imp-v1-phi2")).get("phi2.rope.dimension_count"), 6, "imp-v1 rotary_dim");

    const qwen = await meta("tiny-imp-qwen2");
    assert.equal(qwen.get("general.architecture"), "qwen2");
    assert.equal(qwen.get("qwen2.attention.head_count_kv"), 2);
    assert.equal(qwen.get("qwen2.rope.freq_base"), 1e6);
    assert.equal(qwen.get("qwen2.attention.layer_norm_rms_epsilon"), Math.fround(1e-6));
    assert.deepEqual(shape(qwen, "blk.0.attn_k.weight"), [64, 32]);
    assert.deepEqual(shape(qwen, "blk.0.attn_k.bias"), [32]);
    assert.deepEqual(shape(qwen, "blk.0.ffn_gate.weight"), [64, 128]);

    const phi3 = await meta("tiny-imp-phi3");
    assert.equal(phi3.get("general.architecture"), "phi3");
    assert.deepEqual(shape(phi3, "blk.0.attn_qkv.weight"), [64, 192]);
    assert.deepEqual(shape(phi3, "blk.0.ffn_up.weight"), [64, 256], "gate and up fused");
    assert.ok(!phi3.tensors.some((t) => t.name.endsWith(".bias")));
    assert.equal(phi3.get("general.name"), "tiny-imp-Phi_3", "renamed: llama.cpp's Phi-3 rule needs <unk>");

    const llama = await meta("tiny-llava15");
    assert.equal(llama.get("general.architecture"), "llama");
    assert.equal(llama.get("llama.vocab_size"), 512);
    assert.equal(llama.get("llama.rope.dimension_count"), 16);
    for (const g of [phi2, qwen, phi3, llama]) {
      assert.equal(g.get("general.alignment"), 32);
      assert.equal(g.get("general.file_type"), 1, "mostly F16");
      const a = g.get("general.architecture") as string;
      for (const k of ["context_length", "embedding_length", "block_count", "feed_forward_length"])
        assert.equal(typeof g.get(`${a}.${k}`), "number", `${a}.${k}`);
      assert.equal(g.get(`${a}.embedding_length`), 64);
      assert.equal(g.get(`${a}.block_count`), 2);
      assert.equal(g.get(`${a}.context_length`), 256);
    }
  });

  test("tokenizer metadata: byte-level vocabulary, merges, specials, padding to the embedding rows", async () => {
    const r = await exportGgufFromFolder(dirs.get("tiny-imp-qwen2")!, join(tmp, "tok"), {
      backend,
      mmproj: false,
    });
    const g = readGguf(r.llm.file);
    const tokens = g.get("tokenizer.ggml.tokens") as string[];
    const types = g.get("tokenizer.ggml.token_type") as number[];
    const json = JSON.parse(readFileSync(join(dirs.get("tiny-imp-qwen2")!, "tokenizer.json"), "utf8"));
    assert.equal(g.get("tokenizer.ggml.model"), "gpt2");
    assert.equal(g.get("tokenizer.ggml.pre"), "gpt-2");
    assert.equal(tokens.length, 512, "as many tokens as embedding rows");
    assert.equal(types.length, 512);
    assert.equal(tokens[33], "!");
    assert.equal(tokens[0], "Ā", "byte 0 in GPT-2's byte-to-character map");
    assert.equal(tokens[256], "Ġt");
    assert.deepEqual(g.get("tokenizer.ggml.merges"), json.model.merges);
    const imEnd = tokens.indexOf("<|im_end|>");
    assert.equal(types[imEnd], 3, "special tokens are CONTROL");
    assert.equal(g.get("tokenizer.ggml.eos_token_id"), imEnd, "eos from tokenizer_config");
    assert.equal(tokens[511], "[PAD511]");
    assert.equal(types[511], 5, "padding rows are UNUSED");
    assert.equal(types[100], 1);
    assert.equal(g.get("tokenizer.ggml.add_bos_token"), false);
  });

  test("mmproj: SigLIP tower + connector, blocks up to the select layer, no post-LN", async () => {
    const dir = dirs.get("tiny-imp-qwen2")!;
    const r = await exportGgufFromFolder(dir, join(tmp, "mm-siglip"), { backend });
    assert.ok(r.mmproj);
    const g = readGguf(r.mmproj.file);
    const m = await loadModel(dir, { backend, dtype: "f32" });
    try {
      assert.equal(g.get("general.architecture"), "clip");
      assert.equal(g.get("clip.projector_type"), "mlp");
      assert.equal(g.get("clip.has_vision_encoder"), true);
      assert.equal(g.get("clip.use_gelu"), true, "SigLIP's gelu_pytorch_tanh");
      assert.equal(g.get("clip.vision.image_size"), 56);
      assert.equal(g.get("clip.vision.patch_size"), 14);
      assert.equal(g.get("clip.vision.embedding_length"), 32);
      assert.equal(g.get("clip.vision.feed_forward_length"), 64);
      assert.equal(g.get("clip.vision.projection_dim"), 64);
      assert.equal(g.get("clip.vision.block_count"), 2, "3 layers, select layer −2: 2 run");
      assert.deepEqual(g.get("clip.vision.feature_layer"), [2]);
      assert.deepEqual(g.get("clip.vision.image_mean"), [0.5, 0.5, 0.5]);
      assert.deepEqual(g.get("clip.vision.image_std"), [0.5, 0.5, 0.5]);
      assert.deepEqual(g.tensor("v.patch_embd.weight").ne, [14, 14, 3, 32]);
      assert.equal(g.tensor("v.patch_embd.weight").type, "F16");
      assert.deepEqual(g.tensor("v.position_embd.weight").ne, [32, 16]);
      assert.deepEqual(g.tensor("v.blk.1.ffn_up.weight").ne, [32, 64], "fc1: hidden → ffn");
      assert.deepEqual(g.tensor("v.blk.1.ffn_down.weight").ne, [64, 32], "fc2: ffn → hidden");
      assert.deepEqual(g.tensor("mm.0.weight").ne, [32, 64]);
      assert.deepEqual(g.tensor("mm.2.weight").ne, [64, 64]);
      const names = g.tensors.map((t) => t.name);
      assert.ok(
        !names.some((n) => n.startsWith("v.blk.2.") || n.startsWith("v.post_ln") || n === "v.class_embd"),
      );
      assert.equal(names.length, 3 + 2 * 16 + 4);
      for (const e of mmprojPlan(m.config, () => true).filter((x) => names.includes(x.name))) {
        const info = g.tensor(e.name);
        assert.equal(info.type, tensorType(e.kind, info.shape, "f16"));
        assert.deepEqual(readTensorBytes(g, e.name), expectedBytes(m, e.parts, info.type as string), e.name);
      }
    } finally {
      m.model.dispose();
    }
  });

  test("mmproj: LLaVA-1.5's CLIP tower (class token, pre-LN, quick GELU, its processor's mean/std)", async () => {
    const r = await exportGgufFromFolder(dirs.get("tiny-llava15")!, join(tmp, "mm-clip"), {
      backend,
      quant: "q8_0",
      mmprojQuant: "q8_0",
    });
    const g = readGguf(r.mmproj!.file);
    assert.equal(g.get("clip.use_gelu"), false);
    assert.equal(g.get("clip.use_silu"), false);
    assert.deepEqual(g.tensor("v.class_embd").ne, [32]);
    assert.deepEqual(g.tensor("v.position_embd.weight").ne, [32, 10], "9 patches + the class token");
    assert.equal(g.tensor("v.position_embd.weight").type, "F16");
    assert.ok(g.tensors.some((t) => t.name === "v.pre_ln.bias"));
    assert.ok(!g.tensors.some((t) => t.name === "v.patch_embd.bias"), "CLIP's patch conv has no bias");
    assert.equal(g.tensor("v.blk.0.attn_q.weight").type, "Q8_0");
    assert.equal(g.tensor("v.blk.0.attn_q.bias").type, "F32");
    const mean = g.get("clip.vision.image_mean") as number[];
    assert.deepEqual(
      mean.map((x) => Math.round(x * 1e6)),
      [481455, 457828, 408211],
    );
  });

  test("a model in memory exports the same files as its folder", async () => {
    const dir = dirs.get("tiny-imp-phi3")!;
    const fromFolder = await exportGgufFromFolder(dir, join(tmp, "same-a"), {
      backend,
      quant: "q4_0",
      name: "x",
    });
    const m = await loadModel(dir, { backend, dtype: "q4" });
    try {
      const { readTokenizerFolder } = await import("../../io/tokenizer/folder.js");
      const fromModel = exportGguf(
        modelSource(m.model),
        await readTokenizerFolder(dir),
        join(tmp, "same-b"),
        "x",
        {
          quant: "q4_0",
        },
      );
      assert.deepEqual(readFileSync(fromModel.llm.file), readFileSync(fromFolder.llm.file));
      assert.deepEqual(readFileSync(fromModel.mmproj!.file), readFileSync(fromFolder.mmproj!.file));
    } finally {
      m.model.dispose();
    }
  });

  test("errors: no tokenizer, a projector clip.cpp cannot run", async () => {
    const bare = join(tmp, "bare");
    cpSync(fixture("tiny-imp-qwen2"), bare, { recursive: true });
    await assert.rejects(
      exportGgufFromFolder(bare, join(tmp, "bare-out"), { backend }),
      (e: Error) =>
        e instanceof CheckpointError && /tokenizer/.test(e.message) && /--tokenizer/.test(e.message),
    );
    assert.deepEqual(
      readdirSync(tmp).filter((n) => n === "bare-out"),
      [],
      "nothing written",
    );

    const linear = join(tmp, "linear");
    cpSync(dirs.get("tiny-imp-qwen2")!, linear, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(linear, "config.json"), "utf8"));
    writeFileSync(join(linear, "config.json"), JSON.stringify({ ...cfg, mm_projector_type: "linear" }));
    // "linear" is one matrix without a GELU; clip.cpp's "mlp" always applies one, so only the LLM is written.
    const r = await exportGgufFromFolder(linear, join(tmp, "linear-out"), { backend });
    assert.equal(r.mmproj, null);
    assert.ok(r.warnings.some((w) => /no mmproj written: projector "linear"/.test(w)));
    await assert.rejects(
      exportGgufFromFolder(linear, join(tmp, "linear-out2"), { backend, mmproj: true }),
      /cannot write an mmproj/,
    );
    assert.equal(existsSync(join(tmp, "linear-out2")), false, "refused before anything is written");
  });
});
