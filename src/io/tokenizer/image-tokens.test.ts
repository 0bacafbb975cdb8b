// tokenizeWithImage against the official rule applied to the reference encoders.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  phi2Tokenizer,
  phi3Tokenizer,
  qwenTokenizer,
  vicunaTokenizer,
} from "../../testing/reference-tokenizers.js";
import {
  llamaReference,
  PHI3_ADDED,
  phi2Reference,
  qwenReference,
} from "../../testing/tokenizer-reference.js";
import { IMAGE_TOKEN_INDEX, tokenizeWithImage } from "./image-tokens.js";

const SYSTEM =
  "A chat between a curious user and an artificial intelligence assistant. " +
  "The assistant gives helpful, detailed, and polite answers to the user's questions.";
const PROMPTS = [
  `${SYSTEM} USER: <image>\nWhat is the color of the bus? ASSISTANT:`,
  "<image>\nDescribe the image.",
  "no image at all",
  "two<image>images<image>",
  "<image>",
  "",
];

/** The official rule, spelt out on reference ids: pieces joined by the placeholder, one BOS at the front. */
function officialRule(
  text: string,
  encodePiece: (piece: string) => number[],
  bos: number | undefined,
): number[] {
  const pieces = text.split("<image>").map(encodePiece);
  const out: number[] = bos === undefined ? [] : [bos];
  pieces.forEach((p, i) => {
    if (i > 0) out.push(IMAGE_TOKEN_INDEX);
    out.push(...p);
  });
  return out;
}

describe("tokenizeWithImage", () => {
  test("Phi-2: no BOS, pieces joined by the placeholder; same as the in-vocabulary <image> token", async () => {
    const tok = await phi2Tokenizer();
    for (const p of PROMPTS) {
      const ids = tokenizeWithImage(tok, p, IMAGE_TOKEN_INDEX);
      assert.deepEqual(ids, officialRule(p, phi2Reference, undefined), JSON.stringify(p));
      // Imp's HF code tokenizes the whole prompt with <image> = 50296 instead: the same ids.
      assert.deepEqual(tokenizeWithImage(tok, p, 50296), tok.encode(p), JSON.stringify(p));
    }
  });

  test("Vicuna: one BOS, each later piece without its own BOS", async () => {
    const tok = await vicunaTokenizer();
    for (const p of PROMPTS) {
      const ids = tokenizeWithImage(tok, p, IMAGE_TOKEN_INDEX);
      assert.deepEqual(
        ids,
        officialRule(p, (s) => llamaReference(s, { bos: false }), 1),
        JSON.stringify(p),
      );
    }
    // The piece after the image starts with SentencePiece's "▁" then the newline byte.
    assert.deepEqual(tokenizeWithImage(tok, "<image>\nHi", -200).slice(0, 4), [1, -200, 29871, 13]);
  });

  test("Phi-3: BOS per add_bos_token, chat markers eat their newline", async () => {
    const prompt = `<|system|>\n${SYSTEM}<|end|>\n<|user|>\n<image>\nWhat is this?<|end|>\n<|assistant|>\n`;
    for (const addBos of [true, false]) {
      const tok = await phi3Tokenizer(addBos);
      const ref = (s: string) => llamaReference(s, { bos: false, added: PHI3_ADDED });
      for (const p of [...PROMPTS, prompt]) {
        const ids = tokenizeWithImage(tok, p, IMAGE_TOKEN_INDEX);
        assert.deepEqual(ids, officialRule(p, ref, addBos ? 1 : undefined), JSON.stringify(p));
      }
    }
  });

  test("Qwen1.5: no BOS; same as the in-vocabulary <image> token", async () => {
    const tok = await qwenTokenizer();
    const chatml =
      `<|im_start|>system\n${SYSTEM}<|im_end|>\n<|im_start|>user\n<image>\nWhat is this?<|im_end|>\n` +
      "<|im_start|>assistant\n";
    for (const p of [...PROMPTS, chatml]) {
      assert.deepEqual(
        tokenizeWithImage(tok, p, IMAGE_TOKEN_INDEX),
        officialRule(p, qwenReference, undefined),
      );
      assert.deepEqual(tokenizeWithImage(tok, p, 151646), tok.encode(p), JSON.stringify(p));
    }
  });
});
