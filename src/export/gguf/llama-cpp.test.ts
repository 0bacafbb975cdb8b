/**
 * The exported GGUF in llama.cpp itself (the prebuilt of the `node-llama-cpp` dev dependency, CPU only):
 *  1. next-token logits for a text prompt, at every position, against ours on the same weights, for each
 *     architecture (the fixtures; Phi-2 also at its real head size 80 with rotary 32; LLaMA with grouped KV
 *     heads) and each format;
 *  2. the vocabulary: llama.cpp's tokenizer on the exported real vocabularies (GPT-2/Phi-2, Qwen, Llama-2,
 *     Phi-3) against ours;
 *  3. the chat template, rendered by a Jinja engine;
 *  4. the header, read by node-llama-cpp's own (independent, TypeScript) GGUF parser.
 *
 * node-llama-cpp exposes no raw logits; `controlledEvaluate` returns, per evaluated token, the next-token
 * probabilities after its sampler chain, which with the default greedy sampler (no top-k/p, no penalties) is
 * softmax over the whole vocabulary. We compare log-probabilities (logits up to a per-row constant).
 *
 * Bounds, as max |Δ log p| / max |our logit| over all positions, and why they are not zero:
 *  - f32: 1e-5 (measured ~5e-7). KV cache set to F32 and flash attention off, so only summation order differs.
 *    Phi-2: 2e-3 (measured ~5e-4): ggml's CPU GELU reads a table indexed by the input rounded to f16.
 *  - f16: 3e-3 (measured ~1e-3): same weights, but ggml converts the activations to f16 for F16 matmuls.
 *  - q8_0 / q4_0: 5e-2 (measured ~2e-2). The weight blocks are byte-identical to ours (export.test.ts), but
 *    ggml quantizes each activation row to Q8_0 blocks before every quantized matmul (an int8 dot product);
 *    we multiply by the f32 activations. That rounding (≤ 1/254 of each 32-block's largest value) is the
 *    whole difference, which is why Q4_0 is no worse than Q8_0 here.
 *  - argmax: the same next token at every position, unless our top two logits are closer than twice the
 *    measured difference there.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type ChatHistoryItem,
  type ControlledEvaluateInputItem,
  getLlama,
  JinjaTemplateChatWrapper,
  type Llama,
  LlamaLogLevel,
  LlamaText,
  readGgufFileInfo,
  type Token,
} from "node-llama-cpp";
import { JsBackend } from "../../backend/js/backend.js";
import { Checkpoint, writeSafetensors } from "../../io/safetensors/index.js";
import { TEMPLATES } from "../../io/template/registry.js";
import { readTokenizerFolder, type TokenizerFiles } from "../../io/tokenizer/folder.js";
import { Tokenizer } from "../../io/tokenizer/tokenizer.js";
import { parseModelConfig } from "../../models/config.js";
import { loadModel } from "../../models/load.js";
import { PRESETS } from "../../models/presets.js";
import { writeRandomCheckpoint } from "../../models/random.js";
import { fixture } from "../../testing/fixtures.js";
import { writeTinyTokenizer } from "../../testing/tiny-tokenizer.js";
import {
  HARD_STRINGS,
  llamaTokenizerJson,
  phi3Added,
  phi3Config,
  QWEN_CONFIG,
  qwenTokenizerJson,
  VICUNA_CONFIG,
  writePhi2Folder,
} from "../../testing/tokenizer-reference.js";
import { jinjaChatTemplate } from "./chat-template.js";
import { GgmlType } from "./constants.js";
import { exportGgufFromFolder } from "./export.js";
import { llmMetadata } from "./llm.js";
import { readGguf } from "./reader.js";
import type { GgufQuant } from "./tensors.js";
import { tokenizerMetadata } from "./tokenizer.js";
import { writeGguf } from "./writer.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-gguf-llamacpp-"));
const backend = new JsBackend();
let llama: Llama;
before(async () => {
  llama = await getLlama({
    gpu: false,
    build: "never",
    logLevel: LlamaLogLevel.error,
    // node-llama-cpp first tries a full load to estimate memory; for the vocabulary-only files that try fails
    // (no tensors) before the vocabulary-only load succeeds. Keep other errors.
    logger: (_level, message) => {
      if (!/missing tensor 'token_embd.weight'|failed to load model/.test(message))
        process.stderr.write(`[llama.cpp] ${message}\n`);
    },
  });
});
after(async () => {
  await llama?.dispose();
  backend.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

type Json = Record<string, unknown>;
const readJson = (f: string) => JSON.parse(readFileSync(f, "utf8")) as Json;

function withTokenizer(dir: string): string {
  writeTinyTokenizer(dir, readJson(join(dir, "config.json")).model_type as string);
  return dir;
}

function copyFixture(name: string): string {
  const dir = join(tmp, "models", name);
  cpSync(fixture(name), dir, { recursive: true });
  return withTokenizer(dir);
}

/** Phi-2 at its real head size (80) and rotary width (32 = 0.4 · 80), small otherwise. */
function phi2RealHeads(): string {
  const dir = join(tmp, "models", "phi2-head80");
  const base = readJson(fixture("tiny-imp-phi2", "config.json"));
  writeRandomCheckpoint(
    { ...base, hidden_size: 160, intermediate_size: 320, num_attention_heads: 2, num_key_value_heads: 2 },
    dir,
    { seed: 7, dtype: "f32", std: 0.08 },
  );
  return withTokenizer(dir);
}

/** tiny-llava15 with 2 KV heads for its 4 query heads (k/v keep their first 2 heads' rows). */
function llamaGqa(): string {
  const dir = join(tmp, "models", "llava-gqa");
  cpSync(fixture("tiny-llava15"), dir, { recursive: true });
  const cfg = readJson(join(dir, "config.json"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, num_key_value_heads: 2 }));
  const ck = Checkpoint.open(dir);
  const entries = ck.names().map((name) => {
    const e = ck.info(name);
    const bytes = ck.readBytes(name);
    if (!/self_attn\.(k|v)_proj\.weight$/.test(name))
      return { name, dtype: e.dtype, shape: e.shape, data: bytes };
    const rows = e.shape[0]! / 2;
    return { name, dtype: e.dtype, shape: [rows, e.shape[1]!], data: bytes.slice(0, bytes.length / 2) };
  });
  ck.close();
  writeSafetensors(join(dir, "model.safetensors"), entries);
  return withTokenizer(dir);
}

const OUR_DTYPE: Record<GgufQuant, "f32" | "f16" | "q8" | "q4"> = {
  f32: "f32",
  f16: "f16",
  q8_0: "q8",
  q4_0: "q4",
};
const IDS = [5, 17, 100, 200, 300, 42, 7, 260, 33, 500, 64, 128];

interface Comparison {
  /** max |Δ log p| / max |our logit|. */
  rel: number;
  positions: number;
  /** Positions whose argmax differs although our top-2 gap exceeds twice the difference there. */
  argmaxMismatches: number[];
}

async function compare(dir: string, quant: GgufQuant): Promise<Comparison> {
  const r = await exportGgufFromFolder(dir, join(dir, `gguf-${quant}`), { quant, backend, mmproj: false });
  const model = await llama.loadModel({ modelPath: r.llm.file });
  const ctx = await model.createContext({
    contextSize: 64,
    batchSize: 64,
    threads: 2,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
  });
  let theirs: Array<Map<number, number>>;
  try {
    const input: ControlledEvaluateInputItem[] = IDS.map((t) => [
      t as Token,
      { generateNext: { probabilities: true } },
    ]);
    const out = await ctx.getSequence().controlledEvaluate(input);
    theirs = out.map((o, i) => {
      const p = o?.next.probabilities;
      if (!p) throw new Error(`llama.cpp gave no probabilities at position ${i}`);
      return p;
    });
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
  const ours = await loadModel(dir, { backend, dtype: OUR_DTYPE[quant] });
  let logits: Float32Array;
  try {
    const m = ours.model;
    logits = m.logits(m.forward(m.embedTokens(IDS))).toF32();
  } finally {
    ours.model.dispose();
  }
  const V = ours.config.llm.vocab;
  let maxDiff = 0;
  let maxOurs = 0;
  const rowDiffs: number[] = [];
  const mismatches: number[] = [];
  IDS.forEach((_, p) => {
    const row = logits.subarray(p * V, (p + 1) * V);
    const probs = theirs[p]!;
    assert.equal(probs.size, V, "probabilities over the whole vocabulary");
    let max = Number.NEGATIVE_INFINITY;
    for (const x of row) max = Math.max(max, x);
    let sum = 0;
    for (const x of row) sum += Math.exp(x - max);
    const lse = max + Math.log(sum);
    let d = 0;
    const order = [...row.keys()].sort((a, b) => row[b]! - row[a]!);
    for (let i = 0; i < V; i++) {
      d = Math.max(d, Math.abs(row[i]! - lse - Math.log(probs.get(i)!)));
      maxOurs = Math.max(maxOurs, Math.abs(row[i]!));
    }
    rowDiffs.push(d);
    maxDiff = Math.max(maxDiff, d);
    const top = probs.keys().next().value;
    if (top !== order[0] && row[order[0]!]! - row[order[1]!]! > 2 * d) mismatches.push(p);
  });
  return { rel: maxDiff / maxOurs, positions: IDS.length, argmaxMismatches: mismatches };
}

const BOUND: Record<GgufQuant, number> = { f32: 1e-5, f16: 3e-3, q8_0: 5e-2, q4_0: 5e-2 };

describe("exported GGUF in llama.cpp (node-llama-cpp): next-token logits", () => {
  const cases: Array<[string, () => string, boolean]> = [
    ["tiny-imp-qwen2 (qwen2, GQA)", () => copyFixture("tiny-imp-qwen2"), false],
    ["tiny-imp-phi2 (phi2, rotary 6 of 16)", () => copyFixture("tiny-imp-phi2"), true],
    ["tiny-imp-v1-phi2 (phi2 from imp-v1's fused layout)", () => copyFixture("tiny-imp-v1-phi2"), true],
    ["phi-2 at head size 80, rotary 32", phi2RealHeads, true],
    ["tiny-imp-phi3 (phi3, fused qkv and gate_up)", () => copyFixture("tiny-imp-phi3"), false],
    ["tiny-llava15 (llama, permuted q/k)", () => copyFixture("tiny-llava15"), false],
    ["tiny-llava15 with 2 KV heads (llama, GQA permutation)", llamaGqa, false],
  ];
  for (const [label, make, gelu] of cases)
    test(label, async () => {
      const dir = make();
      const lines: string[] = [];
      for (const quant of ["f32", "f16", "q8_0", "q4_0"] as const) {
        const c = await compare(dir, quant);
        const bound = quant === "f32" && gelu ? 2e-3 : BOUND[quant];
        lines.push(`${quant} ${c.rel.toExponential(2)} (bound ${bound})`);
        assert.ok(c.rel <= bound, `${label} ${quant}: relative difference ${c.rel} > ${bound}`);
        assert.deepEqual(c.argmaxMismatches, [], `${label} ${quant}: argmax differs at these positions`);
      }
      process.stdout.write(`# ${label}: ${lines.join(", ")}\n`);
    });
});

describe("exported GGUF in llama.cpp: the vocabulary", () => {
  /** A GGUF with the metadata only (no tensors): llama.cpp loads it with vocabOnly. */
  async function vocabModel(name: string, files: TokenizerFiles, config: Json) {
    const cfg = parseModelConfig(config, "config.json");
    const file = join(tmp, `vocab-${name}.gguf`);
    writeGguf(file, [...llmMetadata(cfg, `vocab-${name}`, "f16"), ...tokenizerMetadata(files, cfg).kvs], []);
    return llama.loadModel({ modelPath: file, vocabOnly: true });
  }
  const small = { hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 4 };
  const texts = [...HARD_STRINGS, "The quick brown fox jumps over the lazy dog.", "a\nb", " leading space"];

  const cases: Array<[string, () => Promise<TokenizerFiles>, Json, (s: string) => boolean]> = [
    [
      "Phi-2 (GPT-2 byte-level BPE, vocab.json + merges.txt, padded to 51200 rows)",
      async () => {
        const dir = writePhi2Folder();
        try {
          return await readTokenizerFolder(dir);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      PRESETS["imp-v1.5-3b-phi2"]!,
      () => true,
    ],
    [
      "Qwen1.5 (byte-level BPE with Qwen's split)",
      async () => ({ tokenizerJson: qwenTokenizerJson(), config: QWEN_CONFIG }),
      PRESETS["imp-v1.5-2b-qwen1.5"]!,
      // llama.cpp marks any token spelt "</s>" as a control token, and does not apply Qwen's NFC normalizer.
      (s) => !s.includes("</s>") && s.normalize("NFC") === s,
    ],
    [
      "Llama-2 / Vicuna (SentencePiece BPE: scores from merge ranks)",
      async () => ({ tokenizerJson: llamaTokenizerJson(), config: VICUNA_CONFIG }),
      { model_type: "llava", ...small, num_hidden_layers: 1, vocab_size: 32000 },
      () => true,
    ],
    [
      "Phi-3 (Llama-2 pieces + chat tokens)",
      async () => ({ tokenizerJson: llamaTokenizerJson({ added: phi3Added() }), config: phi3Config(true) }),
      { model_type: "imp_phi3", ...small, num_hidden_layers: 1, vocab_size: 32064 },
      () => true,
    ],
  ];
  for (const [label, files, config, comparable] of cases)
    test(label, async () => {
      const f = await files();
      const model = await vocabModel(label.split(" ")[0]!, f, config);
      try {
        const tok = Tokenizer.fromJson(f.tokenizerJson, f.config);
        const checked = texts.filter(comparable);
        assert.ok(checked.length >= 25);
        for (const s of checked)
          assert.deepEqual(
            [...model.tokenize(s, true)],
            tok.encode(s, { addSpecialTokens: false }),
            `${label}: ${JSON.stringify(s)}`,
          );
        assert.equal(model.tokens.bos, tok.bosId ?? (config.bos_token_id as number));
        assert.equal(model.tokens.eos, tok.eosId);
        assert.equal(model.tokens.shouldPrependBosToken, tok.encode("a")[0] === tok.bosId);
        // Decoding: llama.cpp turns our ids back into the same text.
        const sample = "Hello world, what is in the image? 3.14 café";
        assert.equal(model.detokenize(tok.encode(sample, { addSpecialTokens: false }) as Token[]), sample);
      } finally {
        await model.dispose();
      }
    });
});

describe("the chat template written for llama.cpp", () => {
  test("a Jinja engine renders each conversation template as ours does", () => {
    // node-llama-cpp renders the template with @huggingface/jinja, leaving the last (empty) reply open: it
    // stops where the reply would start, i.e. after the assistant marker and the reply prefix.
    for (const t of Object.values(TEMPLATES)) {
      const wrapper = new JinjaTemplateChatWrapper({ template: jinjaChatTemplate(t.parts) });
      for (const system of [undefined, "Be brief."]) {
        const history: ChatHistoryItem[] = [
          ...(system ? [{ type: "system" as const, text: system }] : []),
          { type: "user", text: "Describe the image." },
          { type: "model", response: ["A red circle."] },
          { type: "user", text: "And the colour?" },
          { type: "model", response: [] },
        ];
        const got = LlamaText(wrapper.generateContextState({ chatHistory: history }).contextText).toString();
        const ours = t.render(
          [
            ...(system ? [{ role: "system" as const, content: system }] : []),
            { role: "user", content: "Describe the image." },
            { role: "assistant", content: "A red circle." },
            { role: "user", content: "And the colour?" },
            { role: "assistant", content: "" },
          ],
          { image: false },
        ).text;
        assert.equal(got, ours.slice(0, ours.length - t.parts.assistantSuffix.length), t.name);
      }
    }
  });
});

describe("exported GGUF read by node-llama-cpp's own GGUF parser", () => {
  /** Its metadata is nested by the dots of the keys; flatten it back. */
  function flatten(o: unknown, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
    if (typeof o === "object" && o !== null && !Array.isArray(o))
      for (const [k, v] of Object.entries(o)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    else out.set(prefix, o);
    return out;
  }

  test("LLM and mmproj: the same metadata, tensor names, dimensions, types and offsets as our reader", async () => {
    const dir = copyFixture("tiny-llava15");
    const r = await exportGgufFromFolder(dir, join(dir, "gguf-parser"), { quant: "q4_0", backend });
    for (const file of [r.llm.file, r.mmproj!.file]) {
      const ours = readGguf(file);
      const theirs = await readGgufFileInfo(file, { logWarnings: false });
      assert.equal(theirs.version, 3);
      const meta = flatten(theirs.metadata);
      for (const e of ours.kvs) {
        const v = meta.get(e.key);
        const want = Array.isArray(e.value) ? [...e.value] : e.value;
        if (e.type === "f32" || (e.type === "array" && e.itemType === "f32"))
          assert.deepEqual(
            [want].flat().map((x) => Math.fround(x as number)),
            [v].flat().map((x) => Math.fround(x as number)),
            e.key,
          );
        else assert.deepEqual(v, want, e.key);
      }
      assert.equal(meta.size, ours.kvs.length);
      const infos = theirs.tensorInfo!;
      assert.equal(infos.length, ours.tensors.length);
      infos.forEach((t, i) => {
        const o = ours.tensors[i]!;
        assert.equal(t.name, o.name);
        assert.deepEqual(t.dimensions.map(Number), o.ne);
        assert.equal(t.ggmlType, GgmlType[o.type as keyof typeof GgmlType]);
        assert.equal(Number(t.fileOffset), o.fileOffset);
      });
    }
  });
});
