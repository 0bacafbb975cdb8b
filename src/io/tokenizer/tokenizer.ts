/**
 * The text tokenizer of a checkpoint: Hugging Face `tokenizer.json` run by `@huggingface/tokenizers`
 * (pure JavaScript, no native code, the tokenizer of transformers.js), with the checkpoint's
 * tokenizer_config.json applied the way `transformers` applies it (see config.ts).
 *
 * @example
 * const tok = await Tokenizer.fromFolder("checkpoints/Imp-v1.5-3B-Phi2");
 * const ids = tok.encode("A chat between a curious user and an artificial intelligence assistant.");
 * tok.decode(ids); // the same text
 */
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { FormatError } from "../../util/errors.js";
import { applySettings, readSettings, specialTokenContents, type TokenizerSettings } from "./config.js";
import { readTokenizerFolder } from "./folder.js";

export interface EncodeOptions {
  /** Add the tokenizer's own special tokens (BOS for Llama-family tokenizers). Default true, as in transformers. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, `<|im_end|>`, ...) from the text. Default false, as in transformers. */
  skipSpecialTokens?: boolean;
  /** Undo tokenization spaces (" ." → "."); default: the config's `clean_up_tokenization_spaces`. */
  cleanUpTokenizationSpaces?: boolean;
}

export class Tokenizer {
  /** Id of the BOS token named by the config, if it has one (Phi-2 and Qwen do not prepend it). */
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number | undefined;
  readonly unkId: number | undefined;
  /** Highest token id + 1, added tokens included (`len(tokenizer)`); embedding tables may have more rows. */
  readonly vocabSize: number;
  /** The longest sequence the tokenizer config allows (`model_max_length`), when it says. */
  readonly modelMaxLength: number | undefined;
  /** Ids of the special added tokens (the ones `skipSpecialTokens` drops). */
  readonly specialIds: ReadonlySet<number>;
  /**
   * The most characters of text one token can stand for, or null when there is no such bound: with it, a text
   * of n characters is at least n / maxTokenChars tokens, known without tokenizing. A BPE token's string is
   * at least as long as the text it encodes (byte-level: one character per UTF-8 byte; byte fallback: `<0x41>`);
   * a vocabulary that fuses runs of unknown characters into one token gives no bound.
   */
  readonly maxTokenChars: number | null;

  private readonly inner: HfTokenizer;
  private readonly settings: TokenizerSettings;

  private constructor(inner: HfTokenizer, settings: TokenizerSettings, model: Record<string, unknown>) {
    this.inner = inner;
    this.settings = settings;
    const idOf = (t: string | undefined) => (t === undefined ? undefined : inner.token_to_id(t));
    this.bosId = idOf(settings.bosToken);
    this.eosId = idOf(settings.eosToken);
    this.padId = idOf(settings.padToken);
    this.unkId = idOf(settings.unkToken);
    let maxId = -1;
    let longest = 0;
    for (const [token, id] of inner.get_vocab(true)) {
      if (id > maxId) maxId = id;
      if (token.length > longest) longest = token.length;
    }
    this.vocabSize = maxId + 1;
    const fusesUnknown = model.fuse_unk === true && model.byte_fallback !== true && model.unk_token != null;
    this.maxTokenChars = model.type === "BPE" && !fusesUnknown && longest > 0 ? longest : null;
    this.modelMaxLength = settings.modelMaxLength;
    const special = new Set<number>();
    for (const [id, tok] of inner.get_added_tokens_decoder()) if (tok.special) special.add(id);
    for (const t of specialTokenContents(settings)) {
      const id = inner.token_to_id(t);
      if (id !== undefined) special.add(id);
    }
    this.specialIds = special;
  }

  /** Loads tokenizer.json (or vocab.json + merges.txt) and the config files of a checkpoint folder. Node only. */
  static async fromFolder(dir: string): Promise<Tokenizer> {
    const { tokenizerJson, config } = await readTokenizerFolder(dir);
    return Tokenizer.fromJson(tokenizerJson, config);
  }

  /**
   * From a parsed tokenizer.json and tokenizer_config.json (with special_tokens_map.json's keys merged in,
   * which win). Works anywhere, browsers included.
   */
  static fromJson(tokenizerJson: object, config?: object): Tokenizer {
    if (typeof tokenizerJson !== "object" || tokenizerJson === null || Array.isArray(tokenizerJson)) {
      throw new FormatError("tokenizer.json should hold a JSON object");
    }
    const settings = readSettings(config);
    const json = applySettings(tokenizerJson as Record<string, unknown>, settings);
    let inner: HfTokenizer;
    try {
      inner = new HfTokenizer(json, {
        ...(config ?? {}),
        clean_up_tokenization_spaces: settings.cleanUpTokenizationSpaces,
        additional_special_tokens: settings.additionalSpecialTokens,
      });
    } catch (e) {
      throw new FormatError(`tokenizer.json: ${(e as Error).message}`, { cause: e });
    }
    const model = (json as { model?: unknown }).model;
    return new Tokenizer(
      inner,
      settings,
      typeof model === "object" && model !== null ? (model as Record<string, unknown>) : {},
    );
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const { ids } = this.inner.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true });
    for (const id of ids) {
      // Only a vocabulary without an unknown token and without byte fallback can get here.
      if (id === undefined)
        throw new FormatError(`tokenizer: ${JSON.stringify(text)} has a piece with no token`);
    }
    return ids;
  }

  /** Ids outside the vocabulary (padded embedding rows a model may still emit) are skipped, as transformers does. */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const known = ids.filter((id) => this.inner.id_to_token(id) !== undefined);
    if (known.length === 0) return "";
    return this.inner.decode(known, {
      skip_special_tokens: opts.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: opts.cleanUpTokenizationSpaces ?? this.settings.cleanUpTokenizationSpaces,
    });
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  /** The token pieces of `text`, without special tokens added (for debugging and tests). */
  tokenize(text: string): string[] {
    return this.inner.tokenize(text, { add_special_tokens: false });
  }
}
