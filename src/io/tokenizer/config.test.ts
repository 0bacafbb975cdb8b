// How tokenizer_config.json changes tokenizer.json: added tokens, special tokens, Llama's BOS/EOS switches.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  llamaTokenizerJson,
  QWEN_CONFIG,
  qwenTokenizerJson,
  VICUNA_CONFIG,
} from "../../testing/tokenizer-reference.js";
import { FormatError } from "../../util/errors.js";
import { applySettings, readSettings } from "./config.js";
import { Tokenizer } from "./tokenizer.js";

const llamaJson = llamaTokenizerJson();

describe("tokenizer config", () => {
  test("special tokens as strings or AddedToken objects; the 1e30 max length is no limit", () => {
    const s = readSettings({
      bos_token: { content: "<s>", lstrip: false },
      eos_token: "</s>",
      pad_token: null,
      additional_special_tokens: ["<image>", { content: "<x>" }],
      model_max_length: 1e30,
    });
    assert.equal(s.bosToken, "<s>");
    assert.equal(s.eosToken, "</s>");
    assert.equal(s.padToken, undefined);
    assert.deepEqual(s.additionalSpecialTokens, ["<image>", "<x>"]);
    assert.equal(s.modelMaxLength, undefined);
    assert.throws(() => readSettings({ eos_token: 5 }), FormatError);
    assert.throws(() => readSettings({ add_bos_token: "yes" }), FormatError);
  });

  test("Llama tokenizers take BOS/EOS from add_bos_token/add_eos_token", () => {
    const both = Tokenizer.fromJson(llamaJson, {
      ...VICUNA_CONFIG,
      add_bos_token: true,
      add_eos_token: true,
    });
    assert.deepEqual(both.encode("Hello World"), [1, 15043, 2787, 2]);
    assert.deepEqual(both.encode("Hello World", { addSpecialTokens: false }), [15043, 2787]);
    const none = Tokenizer.fromJson(llamaJson, { ...VICUNA_CONFIG, add_bos_token: false });
    assert.deepEqual(none.encode("Hello World"), [15043, 2787]);
    // Unset: the LlamaTokenizerFast defaults (BOS on, EOS off).
    const { add_bos_token: _b, add_eos_token: _e, ...rest } = VICUNA_CONFIG;
    assert.deepEqual(Tokenizer.fromJson(llamaJson, rest).encode("Hello World"), [1, 15043, 2787]);
    // Other tokenizer classes keep tokenizer.json's post-processor.
    assert.deepEqual(Tokenizer.fromJson(llamaJson, {}).encode("Hello World"), [1, 15043, 2787]);
  });

  test("added tokens from the config join those of tokenizer.json; tokenizer.json wins on conflicts", () => {
    const json = qwenTokenizerJson();
    const base = { ...json, added_tokens: (json.added_tokens as { content: string }[]).slice(0, 3) };
    const tok = Tokenizer.fromJson(base, {
      ...QWEN_CONFIG,
      added_tokens_decoder: {
        "151645": { content: "<|im_end|>", special: true },
        "151646": { content: "<image>", special: true, normalized: false },
      },
    });
    assert.equal(tok.tokenToId("<image>"), 151646);
    assert.deepEqual(tok.encode("a<image>b"), [64, 151646, 65]);
    assert.throws(
      () =>
        Tokenizer.fromJson(base, {
          ...QWEN_CONFIG,
          added_tokens_decoder: { "151645": { content: "<other>" } },
        }),
      FormatError,
    );
  });

  test("special tokens missing from the vocabulary get the next ids; ones in it become special", () => {
    const json = qwenTokenizerJson();
    const base = { ...json, added_tokens: (json.added_tokens as { content: string }[]).slice(0, 3) };
    const tok = Tokenizer.fromJson(base, {
      ...QWEN_CONFIG,
      additional_special_tokens: ["<image>", "<video>"],
    });
    assert.equal(tok.tokenToId("<image>"), 151646);
    assert.equal(tok.tokenToId("<video>"), 151647);
    assert.ok(tok.specialIds.has(151647));
    assert.equal(tok.vocabSize, 151648);
    // GPT-2's <|endoftext|> is in vocab.json; naming it a special token makes it split out and skippable.
    const settings = readSettings({ eos_token: "hello" });
    const out = applySettings({ model: { type: "BPE", vocab: { hello: 7, a: 0 }, merges: [] } }, settings);
    assert.deepEqual(out.added_tokens, [
      { id: 7, content: "hello", special: true, normalized: false, lstrip: false, rstrip: false },
    ]);
  });

  test("malformed tokenizer.json is a FormatError", () => {
    assert.throws(() => Tokenizer.fromJson({}), FormatError);
    assert.throws(() => Tokenizer.fromJson({ model: { type: "BPE" } }), FormatError);
    assert.throws(() => Tokenizer.fromJson({ ...llamaJson, added_tokens: [{ id: 1 }] }), FormatError);
    assert.throws(() => Tokenizer.fromJson({ ...llamaJson, decoder: { type: "Nonsense" } }), FormatError);
  });
});
