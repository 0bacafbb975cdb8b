/**
 * The tokenizer as GGUF metadata (`tokenizer.ggml.*`), from the checkpoint's tokenizer.json + config, following
 * what llama.cpp's converter writes and its vocabulary loader (src/llama-vocab.cpp) reads:
 *
 *  - byte-level BPE (GPT-2/Phi-2, Qwen): model "gpt2"; tokens are the vocabulary's byte-level strings ("Ġthe");
 *    `merges` as "left right" in rank order; `pre` names the pre-tokenizer regex llama.cpp should use
 *    ("gpt-2" for ByteLevel's own split, "qwen2" for Qwen's Split pattern).
 *  - SentencePiece-style BPE with byte fallback (Llama-2/Vicuna, Phi-3): model "llama"; tokens are the pieces
 *    ("▁the", "<0x0A>"); llama.cpp merges the adjacent pair whose joined piece has the highest `score`, so a
 *    piece's score is minus the rank of the merge that makes it (the order HF's merges list encodes).
 *    (llama.cpp's own converter writes −1000 for every piece when it only has tokenizer.json.)
 *  - token types: special added tokens (and added ones that look like `<|…|>`) CONTROL, other added tokens
 *    USER_DEFINED, `<0xNN>` pieces BYTE, the unknown token UNKNOWN, the rest NORMAL.
 *  - a model whose embedding table has more rows than the tokenizer has ids gets `[PAD{i}]` UNUSED tokens, so
 *    the token list is as long as token_embd (llama.cpp requires it).
 *  - bos/eos/unk/pad ids from the tokenizer config, else config.json; add_bos/add_eos from what our tokenizer
 *    does when it encodes.
 *  - `tokenizer.chat_template`: the tokenizer config's, else the model type's conversation template as Jinja.
 */
import { templateForModelType } from "../../io/template/registry.js";
import { applySettings, readSettings } from "../../io/tokenizer/config.js";
import type { TokenizerFiles } from "../../io/tokenizer/folder.js";
import { Tokenizer } from "../../io/tokenizer/tokenizer.js";
import type { ModelConfig } from "../../models/config.js";
import { CheckpointError } from "../../util/errors.js";
import { jinjaChatTemplate } from "./chat-template.js";
import { TokenType } from "./constants.js";
import { type GgufKv, kv } from "./writer.js";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Qwen2's pre-tokenizer split, as tokenizer.json writes it (and llama.cpp's "qwen2" implements). */
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** Llama-3's, for completeness ("llama-bpe"). */
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function preTokenizers(json: Json): Json[] {
  const p = json.pre_tokenizer;
  if (!isObject(p)) return [];
  if (p.type === "Sequence" && Array.isArray(p.pretokenizers)) return p.pretokenizers.filter(isObject);
  return [p];
}

function splitPattern(p: Json): string | undefined {
  const pat = p.pattern;
  if (isObject(pat) && typeof pat.Regex === "string") return pat.Regex;
  return undefined;
}

/** The tokenizer family llama.cpp should run, and for byte-level BPE its pre-tokenizer name. */
function classify(json: Json, warnings: string[]): { model: "gpt2" | "llama"; pre: string } {
  const model = json.model;
  if (!isObject(model) || model.type !== "BPE")
    throw new CheckpointError(
      `tokenizer.json: model type ${JSON.stringify(isObject(model) ? model.type : model)} cannot be exported ` +
        "to GGUF (BPE only: byte-level like GPT-2/Qwen, or with byte fallback like Llama)",
    );
  const pres = preTokenizers(json);
  const byteLevel = pres.find((p) => p.type === "ByteLevel");
  if (!byteLevel) {
    if (model.byte_fallback === true) return { model: "llama", pre: "default" };
    throw new CheckpointError(
      "tokenizer.json: a BPE without a ByteLevel pre-tokenizer or byte fallback cannot be exported to GGUF",
    );
  }
  const split = pres.map(splitPattern).find((s) => s !== undefined);
  if (split === QWEN2_SPLIT) return { model: "gpt2", pre: "qwen2" };
  if (split === LLAMA3_SPLIT) return { model: "gpt2", pre: "llama-bpe" };
  if (split === undefined && byteLevel.use_regex !== false) return { model: "gpt2", pre: "gpt-2" };
  warnings.push(
    `tokenizer pre-tokenizer not recognised (${split ? `split ${JSON.stringify(split)}` : "ByteLevel without its regex"}); ` +
      'wrote "default": llama.cpp may split text differently from imp-ts',
  );
  return { model: "gpt2", pre: "default" };
}

function mergeList(model: Json): string[] {
  const merges = model.merges;
  if (!Array.isArray(merges)) return [];
  return merges.map((m, i) => {
    if (typeof m === "string") return m;
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string")
      return `${m[0]} ${m[1]}`;
    throw new CheckpointError(`tokenizer.json: merges[${i}] is ${JSON.stringify(m)}`);
  });
}

/** Tokens that llama.cpp's converter treats as control tokens even when not marked special. */
function looksSpecial(t: string): boolean {
  return (
    (t.startsWith("<|") && t.endsWith("|>")) || t === "<pad>" || (t.startsWith("<unused") && t.endsWith(">"))
  );
}

export interface TokenizerExport {
  kvs: GgufKv[];
  model: "gpt2" | "llama";
  pre: string;
  /** The token texts written, one per embedding row. */
  tokens: string[];
  warnings: string[];
}

/** The `tokenizer.*` metadata for a model whose embedding table has `vocabRows` rows. */
export function tokenizerMetadata(files: TokenizerFiles, config: ModelConfig): TokenizerExport {
  const warnings: string[] = [];
  const settings = readSettings(files.config);
  const json = applySettings(files.tokenizerJson, settings);
  const { model, pre } = classify(json, warnings);
  const tok = Tokenizer.fromJson(files.tokenizerJson, files.config);
  const rows = config.llm.vocab;
  if (tok.vocabSize > rows)
    throw new CheckpointError(
      `the tokenizer has ${tok.vocabSize} tokens but the model's embedding table only ${rows} rows`,
    );

  const added = new Map<number, { content: string; special: boolean }>();
  for (const a of (json.added_tokens as unknown[]) ?? [])
    if (isObject(a) && typeof a.id === "number" && typeof a.content === "string")
      added.set(a.id, { content: a.content, special: a.special === true });
  const bpe = json.model as Json;
  const merges = mergeList(bpe);
  const mergeRank = new Map<string, number>();
  if (model === "llama")
    merges.forEach((m, r) => {
      const joined = m.replace(" ", "");
      if (!mergeRank.has(joined)) mergeRank.set(joined, r);
    });

  const tokens: string[] = [];
  const types: number[] = [];
  const scores: number[] = [];
  for (let id = 0; id < rows; id++) {
    const a = added.get(id);
    const text = a?.content ?? tok.idToToken(id);
    if (text === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TokenType.UNUSED);
      scores.push(-10000);
      continue;
    }
    tokens.push(text);
    if (id === tok.unkId && model === "llama") {
      types.push(TokenType.UNKNOWN);
      scores.push(0);
    } else if (a) {
      const control = a.special || tok.specialIds.has(id) || looksSpecial(text);
      types.push(control ? TokenType.CONTROL : TokenType.USER_DEFINED);
      scores.push(control ? 0 : -1000);
    } else if (tok.specialIds.has(id)) {
      types.push(TokenType.CONTROL);
      scores.push(0);
    } else if (model === "llama" && /^<0x[0-9A-Fa-f]{2}>$/.test(text)) {
      types.push(TokenType.BYTE);
      scores.push(0);
    } else {
      types.push(TokenType.NORMAL);
      const r = mergeRank.get(text);
      // Pieces no merge makes (single characters) are never candidates; keep them below every merge.
      scores.push(r !== undefined ? -r : -(merges.length + id));
    }
  }

  const kvs: GgufKv[] = [
    kv.string("tokenizer.ggml.model", model),
    kv.string("tokenizer.ggml.pre", pre),
    kv.array("tokenizer.ggml.tokens", "string", tokens),
    kv.array("tokenizer.ggml.token_type", "i32", types),
  ];
  if (model === "llama") kvs.push(kv.array("tokenizer.ggml.scores", "f32", scores));
  else kvs.push(kv.array("tokenizer.ggml.merges", "string", merges));
  if (model === "llama") {
    // Prepend("▁") (legacy) and Metaspace with a prepend scheme both put "▁" before the text; llama.cpp's
    // add_space_prefix does that.
    const norm = JSON.stringify(json.normalizer ?? null);
    const meta = preTokenizers(json).find((p) => p.type === "Metaspace");
    const prefix = norm.includes('"Prepend"') || (meta !== undefined && meta.prepend_scheme !== "never");
    kvs.push(kv.bool("tokenizer.ggml.add_space_prefix", prefix));
  }

  const special = (key: string, id: number | undefined | null) => {
    if (id !== undefined && id !== null && id >= 0 && id < rows) kvs.push(kv.u32(key, id));
  };
  special("tokenizer.ggml.bos_token_id", tok.bosId ?? config.bosId);
  special("tokenizer.ggml.eos_token_id", tok.eosId ?? config.eosId);
  special("tokenizer.ggml.unknown_token_id", tok.unkId);
  special("tokenizer.ggml.padding_token_id", tok.padId);
  // What our tokenizer adds on its own, seen from one encoding with and without special tokens.
  const bare = tok.encode("a", { addSpecialTokens: false });
  const full = tok.encode("a");
  const addBos = full.length > bare.length && full[0] === tok.bosId;
  const addEos = full.length > bare.length && full[full.length - 1] === tok.eosId;
  kvs.push(kv.bool("tokenizer.ggml.add_bos_token", addBos), kv.bool("tokenizer.ggml.add_eos_token", addEos));
  // The checkpoint's own template wins; Imp's tokenizer configs have none, so ours is written as Jinja.
  const own = files.config.chat_template;
  let template = typeof own === "string" ? own : undefined;
  if (template === undefined) {
    try {
      template = jinjaChatTemplate(templateForModelType(config.modelType).parts);
    } catch {
      warnings.push(`no chat template for model_type "${config.modelType}"`);
    }
  }
  if (template !== undefined) kvs.push(kv.string("tokenizer.chat_template", template));
  return { kvs, model, pre, tokens, warnings };
}
