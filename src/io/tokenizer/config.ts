/**
 * How a checkpoint's tokenizer_config.json, special_tokens_map.json and added_tokens.json change the
 * tokenizer that tokenizer.json describes, following what `transformers` does when it loads a fast tokenizer
 * (`PreTrainedTokenizerBase._from_pretrained`, `PreTrainedTokenizerFast.__init__`,
 * `LlamaTokenizerFast.update_post_processor`):
 * - special_tokens_map.json overrides the special tokens named in tokenizer_config.json;
 * - added tokens listed in the config (`added_tokens_decoder`, added_tokens.json) that tokenizer.json lacks
 *   are added with the flags given; tokenizer.json's own entries win when both have one;
 * - special tokens (bos, eos, unk, pad, additional) become special added tokens, taking their vocabulary id
 *   when they have one, else the next free id;
 * - Llama-family tokenizers rebuild their post-processor from `add_bos_token`/`add_eos_token`
 *   (defaults true/false), which is how Phi-3 and Vicuna checkpoints turn BOS on or off.
 */
import { FormatError } from "../../util/errors.js";

/** One added token as tokenizer.json and `added_tokens_decoder` write it. */
export interface AddedTokenSpec {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

/** The parts of the tokenizer config that change encoding or decoding. */
export interface TokenizerSettings {
  bosToken?: string;
  eosToken?: string;
  unkToken?: string;
  padToken?: string;
  additionalSpecialTokens: string[];
  /** Only set when the config says so; Llama-family defaults are applied in `applySettings`. */
  addBosToken?: boolean;
  addEosToken?: boolean;
  cleanUpTokenizationSpaces: boolean;
  tokenizerClass?: string;
  modelMaxLength?: number;
  /** From `added_tokens_decoder`, sorted by id. */
  addedTokens: AddedTokenSpec[];
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A special token is written either as a bare string or as an AddedToken object with `content`. */
function tokenContent(v: unknown, key: string): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "string") return v;
  if (isObject(v) && typeof v.content === "string") return v.content;
  throw new FormatError(
    `tokenizer config: "${key}" should be a string or {"content": ...}, found ${JSON.stringify(v)}`,
  );
}

function optionalBool(cfg: Json, key: string): boolean | undefined {
  const v = cfg[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean")
    throw new FormatError(`tokenizer config: "${key}" should be true or false, found ${JSON.stringify(v)}`);
  return v;
}

/** Reads the merged tokenizer_config.json (+ special_tokens_map.json) object. */
export function readSettings(config: object | undefined): TokenizerSettings {
  const cfg: Json = isObject(config) ? config : {};
  const additional = cfg.additional_special_tokens;
  const additionalSpecialTokens: string[] = [];
  if (Array.isArray(additional)) {
    for (const a of additional) {
      const c = tokenContent(a, "additional_special_tokens");
      if (c !== undefined) additionalSpecialTokens.push(c);
    }
  }
  const addedTokens: AddedTokenSpec[] = [];
  if (isObject(cfg.added_tokens_decoder)) {
    for (const [idText, spec] of Object.entries(cfg.added_tokens_decoder)) {
      const id = Number(idText);
      if (!Number.isInteger(id) || id < 0 || !isObject(spec) || typeof spec.content !== "string") {
        throw new FormatError(
          `tokenizer config: bad added_tokens_decoder entry "${idText}": ${JSON.stringify(spec)}`,
        );
      }
      addedTokens.push({ ...(spec as Omit<AddedTokenSpec, "id">), id, content: spec.content });
    }
    addedTokens.sort((a, b) => a.id - b.id);
  }
  const maxLen = cfg.model_max_length;
  const settings: TokenizerSettings = {
    additionalSpecialTokens,
    // transformers 4.x defaulted to cleaning up; tokenizers written since say false explicitly.
    cleanUpTokenizationSpaces: optionalBool(cfg, "clean_up_tokenization_spaces") ?? true,
    addedTokens,
  };
  const bos = tokenContent(cfg.bos_token, "bos_token");
  const eos = tokenContent(cfg.eos_token, "eos_token");
  const unk = tokenContent(cfg.unk_token, "unk_token");
  const pad = tokenContent(cfg.pad_token, "pad_token");
  if (bos !== undefined) settings.bosToken = bos;
  if (eos !== undefined) settings.eosToken = eos;
  if (unk !== undefined) settings.unkToken = unk;
  if (pad !== undefined) settings.padToken = pad;
  const addBos = optionalBool(cfg, "add_bos_token");
  const addEos = optionalBool(cfg, "add_eos_token");
  if (addBos !== undefined) settings.addBosToken = addBos;
  if (addEos !== undefined) settings.addEosToken = addEos;
  if (typeof cfg.tokenizer_class === "string") settings.tokenizerClass = cfg.tokenizer_class;
  // Configs without a limit write a huge sentinel (1e30); that is no limit.
  if (typeof maxLen === "number" && maxLen < 1e12) settings.modelMaxLength = maxLen;
  return settings;
}

/** The special tokens of the settings, in the order transformers adds missing ones. */
export function specialTokenContents(s: TokenizerSettings): string[] {
  const out: string[] = [];
  for (const t of [s.bosToken, s.eosToken, s.unkToken, s.padToken, ...s.additionalSpecialTokens]) {
    if (t !== undefined && !out.includes(t)) out.push(t);
  }
  return out;
}

/** Llama-family fast tokenizers rebuild their post-processor from add_bos_token/add_eos_token. */
function rebuildsPostProcessor(tokenizerClass: string | undefined): boolean {
  return tokenizerClass !== undefined && /^(Code)?Llama|^Gemma/.test(tokenizerClass);
}

function templatePostProcessor(bos: [string, number] | undefined, eos: [string, number] | undefined): Json {
  const special = (tok: string, typeId: number) => ({ SpecialToken: { id: tok, type_id: typeId } });
  const seq = (id: "A" | "B", typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const single: Json[] = [];
  const pair: Json[] = [];
  if (bos) single.push(special(bos[0], 0));
  single.push(seq("A", 0));
  if (eos) single.push(special(eos[0], 0));
  pair.push(...single);
  if (bos) pair.push(special(bos[0], 1));
  pair.push(seq("B", 1));
  if (eos) pair.push(special(eos[0], 1));
  const specialTokens: Json = {};
  for (const t of [bos, eos]) if (t) specialTokens[t[0]] = { id: t[0], ids: [t[1]], tokens: [t[0]] };
  return { type: "TemplateProcessing", single, pair, special_tokens: specialTokens };
}

/**
 * Returns a copy of tokenizer.json with the config applied (see the file comment). The input is not changed.
 */
export function applySettings(tokenizerJson: Json, s: TokenizerSettings): Json {
  const model = tokenizerJson.model;
  if (!isObject(model)) throw new FormatError(`tokenizer.json: "model" is missing or not an object`);
  const rawAdded = tokenizerJson.added_tokens ?? [];
  if (!Array.isArray(rawAdded)) throw new FormatError(`tokenizer.json: "added_tokens" should be an array`);
  const added: AddedTokenSpec[] = rawAdded.map((t, i) => {
    if (!isObject(t) || typeof t.content !== "string" || typeof t.id !== "number") {
      throw new FormatError(
        `tokenizer.json: added_tokens[${i}] needs "id" and "content", found ${JSON.stringify(t)}`,
      );
    }
    return { ...(t as unknown as AddedTokenSpec) };
  });
  const byContent = new Map(added.map((t) => [t.content, t]));
  const usedIds = new Set(added.map((t) => t.id));

  // Base vocabulary: BPE/WordPiece write {token: id}, Unigram writes [[token, score], ...].
  const vocab = model.vocab;
  const vocabIds = new Map<string, number>();
  let nextId = 0;
  if (Array.isArray(vocab)) {
    vocab.forEach((entry, i) => {
      if (Array.isArray(entry) && typeof entry[0] === "string") vocabIds.set(entry[0], i);
    });
    nextId = vocab.length;
  } else if (isObject(vocab)) {
    for (const [tok, id] of Object.entries(vocab)) {
      if (typeof id === "number") {
        vocabIds.set(tok, id);
        nextId = Math.max(nextId, id + 1);
      }
    }
  } else {
    throw new FormatError(`tokenizer.json: "model.vocab" is missing`);
  }
  for (const t of added) nextId = Math.max(nextId, t.id + 1);

  for (const t of s.addedTokens) {
    if (byContent.has(t.content)) continue;
    if (usedIds.has(t.id)) {
      throw new FormatError(
        `tokenizer config: added token ${JSON.stringify(t.content)} has id ${t.id}, which tokenizer.json gives to another added token`,
      );
    }
    const spec: AddedTokenSpec = { ...t };
    added.push(spec);
    byContent.set(spec.content, spec);
    usedIds.add(spec.id);
    nextId = Math.max(nextId, spec.id + 1);
  }

  const specials = specialTokenContents(s);
  for (const content of specials) {
    const existing = byContent.get(content);
    if (existing) {
      existing.special = true;
      continue;
    }
    const id = vocabIds.get(content) ?? nextId++;
    const spec: AddedTokenSpec = {
      id,
      content,
      special: true,
      normalized: false,
      lstrip: false,
      rstrip: false,
    };
    added.push(spec);
    byContent.set(content, spec);
  }
  added.sort((a, b) => a.id - b.id);

  const out: Json = { ...tokenizerJson, added_tokens: added };
  if (rebuildsPostProcessor(s.tokenizerClass)) {
    const addBos = s.addBosToken ?? true;
    const addEos = s.addEosToken ?? false;
    const idOf = (t: string | undefined, which: "bos" | "eos"): [string, number] => {
      const id = t === undefined ? undefined : (byContent.get(t)?.id ?? vocabIds.get(t));
      if (t === undefined || id === undefined) {
        throw new FormatError(
          `tokenizer config: add_${which}_token is true but ${which}_token is not set or not in the vocabulary`,
        );
      }
      return [t, id];
    };
    out.post_processor = templatePostProcessor(
      addBos ? idOf(s.bosToken, "bos") : undefined,
      addEos ? idOf(s.eosToken, "eos") : undefined,
    );
  }
  return out;
}
