/**
 * Builds the tokenizer.json that `transformers` would write for a byte-level BPE tokenizer shipped only as
 * vocab.json + merges.txt (GPT-2/CodeGen, as Phi-2 checkpoints do; Qwen2's slow files too). The pieces are
 * those of `convert_slow_tokenizer.GPT2Converter` and `Qwen2Converter`: same vocabulary and merge order,
 * byte-level pre-tokenizer and decoder, no normalizer (NFC for Qwen2), no BOS.
 */
import { FormatError } from "../../util/errors.js";

/** The tokenizer classes whose slow files this module converts, by their converter style. */
const STYLES: Record<string, "gpt2" | "qwen2"> = {
  GPT2Tokenizer: "gpt2",
  GPT2TokenizerFast: "gpt2",
  CodeGenTokenizer: "gpt2",
  CodeGenTokenizerFast: "gpt2",
  Qwen2Tokenizer: "qwen2",
  Qwen2TokenizerFast: "qwen2",
};

/** Qwen2's pre-tokenizer split (transformers `Qwen2Converter`, identical in Qwen1.5/2/2.5 tokenizer.json). */
const QWEN2_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** True when vocab.json + merges.txt of this tokenizer class can be converted here (class unknown: assume GPT-2). */
export function canConvertBpeFiles(tokenizerClass: string | undefined): boolean {
  return tokenizerClass === undefined || tokenizerClass in STYLES;
}

/** merges.txt: an optional "#version" line, then one "left right" pair per line, in priority order. */
export function parseMerges(text: string, file = "merges.txt"): string[] {
  const merges: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    if (line === "" || (i === 0 && line.startsWith("#version"))) continue;
    const parts = line.split(" ");
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
      throw new FormatError(
        `${file}: line ${i + 1} should be two tokens separated by one space, found ${JSON.stringify(line)}`,
      );
    }
    merges.push(line);
  }
  return merges;
}

/**
 * The tokenizer.json object for vocab.json (`vocab`) and merges.txt (`merges`, parsed). Added and special tokens
 * are left to the config step (`applySettings`), as transformers adds them after conversion.
 */
export function byteLevelBpeTokenizerJson(
  vocab: Record<string, number>,
  merges: string[],
  opts: { tokenizerClass?: string; addPrefixSpace?: boolean } = {},
): Record<string, unknown> {
  for (const [tok, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || id < 0)
      throw new FormatError(`vocab.json: token ${JSON.stringify(tok)} has id ${id}`);
  }
  const style = opts.tokenizerClass === undefined ? "gpt2" : STYLES[opts.tokenizerClass];
  if (style === undefined) {
    throw new FormatError(
      `vocab.json + merges.txt: cannot build a tokenizer.json for tokenizer_class ${opts.tokenizerClass}`,
    );
  }
  const model = {
    type: "BPE",
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: "",
    end_of_word_suffix: "",
    fuse_unk: false,
    byte_fallback: false,
    vocab,
    merges,
  };
  const byteLevel = (addPrefixSpace: boolean, useRegex: boolean) => ({
    type: "ByteLevel",
    add_prefix_space: addPrefixSpace,
    trim_offsets: false,
    use_regex: useRegex,
  });
  if (style === "qwen2") {
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer: { type: "NFC" },
      pre_tokenizer: {
        type: "Sequence",
        pretokenizers: [
          { type: "Split", pattern: { Regex: QWEN2_PATTERN }, behavior: "Isolated", invert: false },
          byteLevel(false, false),
        ],
      },
      post_processor: byteLevel(false, false),
      decoder: byteLevel(false, false),
      model,
    };
  }
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: byteLevel(opts.addPrefixSpace ?? false, true),
    post_processor: byteLevel(true, true),
    decoder: byteLevel(true, true),
    model,
  };
}
