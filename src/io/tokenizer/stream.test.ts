// The streaming decoder on the real vocabularies: characters split over tokens are never emitted in halves.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  phi2Tokenizer,
  phi3Tokenizer,
  qwenTokenizer,
  vicunaTokenizer,
} from "../../testing/reference-tokenizers.js";
import { HARD_STRINGS } from "../../testing/tokenizer-reference.js";
import { createStreamDecoder } from "./stream.js";
import type { Tokenizer } from "./tokenizer.js";

const EMOJI_TEXT = "Look 👨‍👩‍👧‍👦🦙 at 镇 and 🏳️‍🌈! Ꙋ🦙 done.";

function stream(tok: Tokenizer, ids: number[]): string[] {
  const dec = createStreamDecoder(tok);
  const chunks = ids.map((id) => dec.push(id));
  chunks.push(dec.flush());
  return chunks;
}

const tokenizers: [string, () => Promise<Tokenizer>][] = [
  ["Phi-2", phi2Tokenizer],
  ["Vicuna", vicunaTokenizer],
  ["Phi-3", () => phi3Tokenizer(true)],
  ["Qwen1.5", qwenTokenizer],
];

describe("streaming decoder", () => {
  for (const [name, load] of tokenizers) {
    test(`${name}: chunks join to decode(ids), no partial characters`, async () => {
      const tok = await load();
      for (const s of [...HARD_STRINGS, EMOJI_TEXT]) {
        const ids = tok.encode(s, { addSpecialTokens: false });
        const chunks = stream(tok, ids);
        assert.equal(chunks.join(""), tok.decode(ids, { skipSpecialTokens: true }), JSON.stringify(s));
        for (const c of chunks) {
          assert.ok(!c.includes("\uFFFD"), `${JSON.stringify(s)}: chunk ${JSON.stringify(c)}`);
          assert.ok(!/[\uD800-\uDBFF]$/.test(c), `${JSON.stringify(s)}: chunk ends in half a surrogate pair`);
        }
      }
    });

    test(`${name}: an emoji spread over byte tokens comes out whole, in one chunk`, async () => {
      const tok = await load();
      // The first of these that the vocabulary has no single token for.
      const emoji = ["🦙", "🪿", "🫠", "𓀀"].find(
        (e) => tok.encode(e, { addSpecialTokens: false }).length >= 2,
      );
      assert.ok(emoji, "every candidate emoji is a single token");
      const ids = tok.encode(emoji, { addSpecialTokens: false });
      assert.deepEqual(
        stream(tok, ids).filter((c) => c !== ""),
        [emoji],
      );
    });
  }

  test("flush emits what is held back, then starts over", async () => {
    const tok = await phi2Tokenizer();
    const ids = tok.encode("a🦙", { addSpecialTokens: false });
    const dec = createStreamDecoder(tok);
    assert.equal(dec.push(ids[0]!), "a");
    assert.equal(dec.push(ids[1]!), "");
    assert.equal(dec.flush(), "\uFFFD");
    assert.equal(dec.push(ids[0]!), "a");
    assert.equal(dec.flush(), "");
  });

  test("special tokens are skipped by default and kept on request", async () => {
    const tok = await qwenTokenizer();
    const ids = tok.encode("Yes<|im_end|>");
    assert.equal(stream(tok, ids).join(""), "Yes");
    const keep = createStreamDecoder(tok, { skipSpecialTokens: false });
    assert.equal(ids.map((id) => keep.push(id)).join("") + keep.flush(), "Yes<|im_end|>");
  });

  test("a long stream keeps its window short and stays exact", async () => {
    const tok = await vicunaTokenizer();
    const text = Array.from({ length: 60 }, (_, i) => `line ${i}: 🦙 镇 ${"x".repeat(i % 7)}`).join("\n");
    const ids = tok.encode(text, { addSpecialTokens: false });
    assert.equal(stream(tok, ids).join(""), tok.decode(ids));
  });
});
