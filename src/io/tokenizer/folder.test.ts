// Reading checkpoint folders: tokenizer.json or vocab.json + merges.txt, the config files, and the errors.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { phi2Tokenizer } from "../../testing/reference-tokenizers.js";
import { HARD_STRINGS, phi2AddedTokens, writePhi2Folder } from "../../testing/tokenizer-reference.js";
import { CheckpointError, FormatError } from "../../util/errors.js";
import { byteLevelBpeTokenizerJson, parseMerges } from "./bpe-files.js";
import { readTokenizerFolder } from "./folder.js";
import { Tokenizer } from "./tokenizer.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "imp-tok-folder-"));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("checkpoint folders", () => {
  test("vocab.json + merges.txt and the tokenizer.json built from them encode alike", async () => {
    const phi2Dir = writePhi2Folder();
    dirs.push(phi2Dir);
    const files = await readTokenizerFolder(phi2Dir);
    // A folder holding the converted tokenizer.json with Imp's added tokens in it, as transformers saves it.
    const dir = tempDir();
    const added = Object.entries(phi2AddedTokens()).map(([content, id]) => ({
      id,
      content,
      special: content === "<|endoftext|>" || content === "</s>",
      normalized: !(content === "<|endoftext|>" || content === "</s>"),
      lstrip: false,
      rstrip: false,
      single_word: false,
    }));
    writeFileSync(
      join(dir, "tokenizer.json"),
      JSON.stringify({ ...files.tokenizerJson, added_tokens: added }),
    );
    cpSync(join(phi2Dir, "tokenizer_config.json"), join(dir, "tokenizer_config.json"));
    cpSync(join(phi2Dir, "special_tokens_map.json"), join(dir, "special_tokens_map.json"));
    const fromJson = await Tokenizer.fromFolder(dir);
    const fromSlow = await phi2Tokenizer();
    for (const s of HARD_STRINGS) assert.deepEqual(fromJson.encode(s), fromSlow.encode(s), JSON.stringify(s));
    assert.equal(fromJson.vocabSize, fromSlow.vocabSize);
    assert.equal(fromJson.eosId, 50295);
  });

  test("special_tokens_map.json overrides tokenizer_config.json", async () => {
    const phi2Dir = writePhi2Folder();
    dirs.push(phi2Dir);
    const cfg = JSON.parse(readFileSync(join(phi2Dir, "tokenizer_config.json"), "utf8")) as {
      eos_token: string;
    };
    assert.equal(cfg.eos_token, "<|endoftext|>"); // the map says </s>
    assert.equal((await Tokenizer.fromFolder(phi2Dir)).eosId, 50295);
  });

  test("a missing folder, an empty folder and a SentencePiece-only folder are CheckpointErrors", async () => {
    await assert.rejects(Tokenizer.fromFolder(join(tmpdir(), "imp-no-such-folder")), CheckpointError);
    const empty = tempDir();
    await assert.rejects(Tokenizer.fromFolder(empty), (e: Error) => {
      assert.ok(e instanceof CheckpointError);
      assert.match(e.message, /tokenizer\.json/);
      return true;
    });
    const sp = tempDir();
    writeFileSync(join(sp, "tokenizer.model"), "\x0a\x05");
    await assert.rejects(Tokenizer.fromFolder(sp), (e: Error) => {
      assert.ok(e instanceof CheckpointError);
      assert.match(e.message, /SentencePiece.*needs tokenizer\.json/);
      return true;
    });
  });

  test("bad files are FormatErrors naming the file", async () => {
    const bad = tempDir();
    writeFileSync(join(bad, "tokenizer.json"), "{ not json");
    await assert.rejects(Tokenizer.fromFolder(bad), (e: Error) => {
      assert.ok(e instanceof FormatError);
      assert.match(e.message, /tokenizer\.json is not valid JSON/);
      return true;
    });
    const noModel = tempDir();
    writeFileSync(join(noModel, "tokenizer.json"), JSON.stringify({ added_tokens: [] }));
    await assert.rejects(Tokenizer.fromFolder(noModel), FormatError);
    const badMerges = tempDir();
    writeFileSync(join(badMerges, "vocab.json"), JSON.stringify({ a: 0, b: 1, ab: 2 }));
    writeFileSync(join(badMerges, "merges.txt"), "#version: 0.2\na b c\n");
    await assert.rejects(Tokenizer.fromFolder(badMerges), /merges\.txt: line 2/);
    const otherClass = tempDir();
    writeFileSync(join(otherClass, "vocab.json"), JSON.stringify({ a: 0 }));
    writeFileSync(join(otherClass, "merges.txt"), "");
    writeFileSync(
      join(otherClass, "tokenizer_config.json"),
      JSON.stringify({ tokenizer_class: "BertTokenizer" }),
    );
    await assert.rejects(Tokenizer.fromFolder(otherClass), CheckpointError);
  });
});

describe("vocab.json + merges.txt conversion", () => {
  test("merges.txt parsing skips the version line, blank lines and CRs", () => {
    assert.deepEqual(parseMerges("#version: 0.2\nĠ t\r\nh e\n\n"), ["Ġ t", "h e"]);
  });

  test("a tiny GPT-2 style vocabulary", () => {
    const vocab = { h: 0, e: 1, l: 2, o: 3, Ġ: 4, he: 5, ll: 6, hell: 7, hello: 8, "<|endoftext|>": 9 };
    const json = byteLevelBpeTokenizerJson(vocab, ["h e", "l l", "he ll", "hell o"], {
      tokenizerClass: "GPT2Tokenizer",
    });
    const tok = Tokenizer.fromJson(json, { eos_token: "<|endoftext|>" });
    assert.deepEqual(tok.encode("hello hello"), [8, 4, 8]);
    assert.deepEqual(tok.encode("hello<|endoftext|>"), [8, 9]);
    assert.equal(tok.decode([8, 4, 8, 9], { skipSpecialTokens: true }), "hello hello");
  });
});
