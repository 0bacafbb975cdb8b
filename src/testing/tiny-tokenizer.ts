/**
 * A small byte-level BPE tokenizer.json for tests: the 256 bytes (ids 0–255), a few merges of common English,
 * and the special tokens a template needs, all below a fixture model's vocabulary of 512. Fixture models ship no
 * tokenizer; with this one they can be driven end to end (prompt text in, answer text out).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** GPT-2's reversible byte → printable-character map. */
export function byteChars(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++)
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  const out = new Array<string>(256);
  bs.forEach((b, i) => {
    out[b] = String.fromCodePoint(cs[i]!);
  });
  return out;
}

const MERGES: Array<[string, string]> = [
  ["Ġ", "t"],
  ["h", "e"],
  ["Ġt", "he"],
  ["i", "n"],
  ["Ġ", "a"],
  ["o", "n"],
  ["r", "e"],
  ["Ġ", "s"],
  ["Ġ", "c"],
  ["e", "d"],
];

/** The tokenizer.json object; `specials` get ids from 256 + merges on, in order. */
export function tinyTokenizerJson(specials: readonly string[]): Record<string, unknown> {
  const chars = byteChars();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => {
    vocab[c] = i;
  });
  let id = 256;
  for (const [a, b] of MERGES) vocab[a + b] = id++;
  const added = specials.map((content) => ({
    id: id++,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: MERGES.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** Special tokens each template family needs. */
export const TEMPLATE_SPECIALS: Record<string, string[]> = {
  imp: ["</s>", "<|endoftext|>"],
  imp_qwen2: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
  imp_phi3: ["<s>", "</s>", "<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"],
  llava: ["<s>", "</s>", "<unk>"],
};

/** Writes tokenizer.json (+ tokenizer_config.json) for a model type into a folder. */
export function writeTinyTokenizer(dir: string, modelType: string): void {
  mkdirSync(dir, { recursive: true });
  const specials = TEMPLATE_SPECIALS[modelType] ?? TEMPLATE_SPECIALS.imp!;
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tinyTokenizerJson(specials)));
  const eos = modelType === "imp_qwen2" ? "<|im_end|>" : modelType === "imp_phi3" ? "<|end|>" : "</s>";
  writeFileSync(
    join(dir, "tokenizer_config.json"),
    JSON.stringify({ eos_token: eos, clean_up_tokenization_spaces: false, model_max_length: 256 }),
  );
}
