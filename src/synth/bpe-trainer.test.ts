// The BPE trainer: merge order and tie-breaking by hand, independence from text order, and the tokenizer it
// writes loaded through src/io/tokenizer: round trips, single-token specials, aligned training labels.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { IGNORE_INDEX, qwen2Template, tokenizeConversation } from "../io/template/index.js";
import { Tokenizer } from "../io/tokenizer/tokenizer.js";
import { bytesToUnicode, pieceCounts, tokenizerJson, trainBpe } from "./bpe-trainer.js";
import { corpusText, sceneDocuments } from "./corpus.js";
import { makeScene, splitSeeds } from "./world.js";
import {
  SPECIAL_TOKENS,
  tokenizerConfig,
  trainWorldTokenizer,
  writeTokenizerFolder,
} from "./world-tokenizer.js";

test("byte map is GPT-2's: printable bytes map to themselves, the rest above 255", () => {
  const m = bytesToUnicode();
  assert.equal(m[0x41], "A");
  assert.equal(m[0x20], "Ġ");
  assert.equal(m[0x0a], "Ċ");
  assert.equal(new Set(m).size, 256);
});

test("pre-tokenizer splits digits one by one and keeps a word's leading space", () => {
  const counts = pieceCounts(["It's 42 red circles.\n<|im_end|>x"], SPECIAL_TOKENS);
  assert.deepEqual([...counts.keys()], ["It", "'s", "Ġ", "4", "2", "Ġred", "Ġcircles", ".Ċ", "x"]);
});

test("merges go by frequency, ties to the smaller pair, and stop below the minimum count", () => {
  const m = trainBpe(["ab ab cd cd"], { vocabSize: 300, specialTokens: [] });
  // Pieces: "ab", "Ġab", "Ġcd" ×2. Count 2: (a b), (c d), (Ġ c); "a b" < "c d" < "Ġ c" by code units.
  assert.deepEqual(m.merges, ["a b", "c d", "Ġ cd"]);
  assert.equal(m.vocab.ab, 256);
  assert.equal(m.vocab["Ġcd"], 258);
});

test("training does not depend on the order of the texts", () => {
  const docs = splitSeeds("corpus", 40).flatMap((s) => sceneDocuments(makeScene(s)));
  const a = trainBpe(docs, { vocabSize: 600, specialTokens: SPECIAL_TOKENS });
  const b = trainBpe([...docs].reverse(), { vocabSize: 600, specialTokens: SPECIAL_TOKENS });
  assert.deepEqual(a.merges, b.merges);
  assert.equal(a.merges.length, 600 - 256 - SPECIAL_TOKENS.length);
});

const corpus = corpusText(splitSeeds("corpus", 150).map((s) => makeScene(s)));
const model = trainWorldTokenizer([corpus], 1024);

test("the tokenizer round-trips text and keeps the template's special tokens whole", () => {
  const tok = Tokenizer.fromJson(tokenizerJson(model), tokenizerConfig(model));
  const samples = [
    corpus.slice(0, 2000),
    "<|im_start|>system\nA chat.<|im_end|>\n<|im_start|>user\n<image>\nWhat color is the star?<|im_end|>\n",
    "Unseen words, ünïcödé ✓ and 12345 tabs\tand\r\nnewlines   spaces.",
    "",
  ];
  for (const s of samples) assert.equal(tok.decode(tok.encode(s)), s.normalize("NFC"));
  for (const sp of SPECIAL_TOKENS) {
    const ids = tok.encode(`a${sp}b`);
    assert.equal(ids.length, 3, `${sp} is not one token`);
    assert.equal(tok.idToToken(ids[1]!), sp);
    assert.ok(tok.specialIds.has(ids[1]!));
  }
  assert.equal(tok.eosId, tok.tokenToId("<|im_end|>"));
  assert.equal(tok.padId, tok.tokenToId("<|endoftext|>"));
  assert.equal(tok.bosId, undefined);
  // Fewer than asked when the corpus runs out of pairs seen twice (its vocabulary is closed).
  assert.equal(tok.vocabSize, 256 + model.merges.length + SPECIAL_TOKENS.length);
  assert.ok(tok.vocabSize <= 1024);
  // The world's words are whole tokens.
  for (const w of [" circle", " red", " triangle", " sign"]) assert.equal(tok.encode(w).length, 1, w);
});

test("the written folder loads with fromFolder and gives aligned training labels in the Qwen2 template", async () => {
  const dir = mkdtempSync(join(tmpdir(), "imp-bpe-"));
  try {
    writeTokenizerFolder(dir, model);
    const tok = await Tokenizer.fromFolder(dir);
    const conv = qwen2Template.render([
      {
        role: "user",
        content: "<image>\nWhat color is the star?\nAnswer the question using a single word or phrase.",
      },
      { role: "assistant", content: "red" },
      { role: "user", content: "How many circles are there?" },
      { role: "assistant", content: "There are two circles." },
    ]);
    const t = tokenizeConversation(tok, conv, tok.tokenToId("<image>")!);
    assert.ok(t.aligned);
    const reply = t.labels.filter((l) => l !== IGNORE_INDEX);
    assert.equal(tok.decode(reply), "red<|im_end|>There are two circles.<|im_end|>");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
