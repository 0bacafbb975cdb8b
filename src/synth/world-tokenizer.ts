/**
 * The built-in model's tokenizer: byte-level BPE trained on the world's corpus (bpe-trainer.ts), with the
 * special tokens of the Qwen2 ChatML template that Imp-v1.5-2B-Qwen1.5 uses (`<|endoftext|>`, `<|im_start|>`,
 * `<|im_end|>`) plus `<image>`, so a prompt's image placeholder can be one id. The config files follow Qwen2's
 * (no BOS; EOS `<|im_end|>`, PAD `<|endoftext|>`), as transformers and src/io/tokenizer read them.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { IMP_SYSTEM } from "../io/template/phi2.js";
import { writeAtomic, writeJsonAtomic } from "../util/atomic-file.js";
import { type BpeModel, tokenizerJson, trainBpe } from "./bpe-trainer.js";

export const SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>"] as const;
/** Vocabulary size: the world's few hundred words fit whole, numbers are digits, the rest falls to bytes. */
export const DEFAULT_VOCAB_SIZE = 2048;

/** The ChatML chat template (Qwen1.5's, with Imp's system prompt as the default). */
export const CHAT_TEMPLATE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
  `{{ '<|im_start|>system\\n${IMP_SYSTEM.replaceAll("'", "\\'")}<|im_end|>\\n' }}{% endif %}` +
  "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export function tokenizerConfig(model: BpeModel, modelMaxLength = 2048): Record<string, unknown> {
  const first = Object.keys(model.vocab).length;
  const decoder: Record<string, unknown> = {};
  model.specialTokens.forEach((content, i) => {
    decoder[String(first + i)] = {
      content,
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    };
  });
  return {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: decoder,
    additional_special_tokens: ["<|im_start|>", "<|im_end|>", "<image>"],
    bos_token: null,
    chat_template: CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: "<|im_end|>",
    errors: "replace",
    model_max_length: modelMaxLength,
    pad_token: "<|endoftext|>",
    split_special_tokens: false,
    tokenizer_class: "Qwen2Tokenizer",
    unk_token: null,
  };
}

export const SPECIAL_TOKENS_MAP = {
  additional_special_tokens: ["<|im_start|>", "<|im_end|>", "<image>"],
  eos_token: "<|im_end|>",
  pad_token: "<|endoftext|>",
};

/** Trains the world's tokenizer on `texts`. */
export function trainWorldTokenizer(texts: Iterable<string>, vocabSize = DEFAULT_VOCAB_SIZE): BpeModel {
  return trainBpe(texts, { vocabSize, specialTokens: SPECIAL_TOKENS });
}

/** Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json into `dir`. */
export function writeTokenizerFolder(dir: string, model: BpeModel): void {
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson(model)));
  writeJsonAtomic(join(dir, "tokenizer_config.json"), tokenizerConfig(model));
  writeJsonAtomic(join(dir, "special_tokens_map.json"), SPECIAL_TOKENS_MAP);
}
