/**
 * Reads the tokenizer files of a checkpoint folder, as `AutoTokenizer.from_pretrained` finds them:
 * tokenizer.json (or vocab.json + merges.txt, converted in memory), tokenizer_config.json,
 * special_tokens_map.json (overrides the config's special tokens) and added_tokens.json.
 * Node-only: `node:fs` is imported when called, so the rest of the tokenizer stays usable in a browser.
 */
import { CheckpointError, FormatError } from "../../util/errors.js";
import { byteLevelBpeTokenizerJson, canConvertBpeFiles, parseMerges } from "./bpe-files.js";

/** What `Tokenizer.fromJson` takes: tokenizer.json and the merged config. */
export interface TokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  config: Record<string, unknown>;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export async function readTokenizerFolder(dir: string): Promise<TokenizerFiles> {
  const fs = await import("node:fs/promises");
  const path = await import("node:path");

  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    throw new CheckpointError(`tokenizer: cannot read the folder ${dir}`, { cause: e });
  }
  const has = (name: string) => names.includes(name);
  const readText = async (name: string) => {
    const file = path.join(dir, name);
    try {
      return await fs.readFile(file, "utf8");
    } catch (e) {
      throw new CheckpointError(`tokenizer: cannot read ${file}`, { cause: e });
    }
  };
  const readJsonObject = async (name: string): Promise<Json> => {
    const file = path.join(dir, name);
    let value: unknown;
    try {
      value = JSON.parse(await readText(name));
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      throw new FormatError(`${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
    }
    if (!isObject(value)) throw new FormatError(`${file} should hold a JSON object`);
    return value;
  };

  const config: Json = has("tokenizer_config.json") ? await readJsonObject("tokenizer_config.json") : {};
  if (has("special_tokens_map.json")) {
    const map = await readJsonObject("special_tokens_map.json");
    for (const [key, value] of Object.entries(map)) config[key] = value;
  }
  if (has("added_tokens.json")) {
    // Slow-tokenizer format {content: id}; transformers makes these normalized, non-special tokens unless
    // they are one of the special tokens.
    const added = await readJsonObject("added_tokens.json");
    const specials = new Set(
      ["bos_token", "eos_token", "unk_token", "pad_token"]
        .map((k) => config[k])
        .map((v) => (isObject(v) ? v.content : v))
        .filter((v): v is string => typeof v === "string"),
    );
    const decoder: Json = isObject(config.added_tokens_decoder) ? { ...config.added_tokens_decoder } : {};
    for (const [content, id] of Object.entries(added)) {
      if (typeof id !== "number" || !Number.isInteger(id)) {
        throw new FormatError(
          `${path.join(dir, "added_tokens.json")}: ${JSON.stringify(content)} has id ${id}`,
        );
      }
      if (String(id) in decoder) continue;
      const special = specials.has(content);
      decoder[String(id)] = {
        content,
        special,
        normalized: !special,
        lstrip: false,
        rstrip: false,
        single_word: false,
      };
    }
    config.added_tokens_decoder = decoder;
  }

  const tokenizerClass = typeof config.tokenizer_class === "string" ? config.tokenizer_class : undefined;
  if (has("tokenizer.json")) return { tokenizerJson: await readJsonObject("tokenizer.json"), config };
  if (has("vocab.json") && has("merges.txt")) {
    if (!canConvertBpeFiles(tokenizerClass)) {
      throw new CheckpointError(
        `tokenizer: ${dir} has vocab.json + merges.txt but no tokenizer.json, and tokenizer_class ${tokenizerClass} ` +
          `is not a byte-level BPE imp-ts can convert (GPT-2, CodeGen, Qwen2). Save the tokenizer with transformers ` +
          `(AutoTokenizer.from_pretrained(dir).save_pretrained(dir)) to write tokenizer.json.`,
      );
    }
    const vocab = await readJsonObject("vocab.json");
    for (const [tok, id] of Object.entries(vocab)) {
      if (typeof id !== "number")
        throw new FormatError(`${path.join(dir, "vocab.json")}: ${JSON.stringify(tok)} has id ${id}`);
    }
    const merges = parseMerges(await readText("merges.txt"), path.join(dir, "merges.txt"));
    const opts: { tokenizerClass?: string; addPrefixSpace?: boolean } = {};
    if (tokenizerClass !== undefined) opts.tokenizerClass = tokenizerClass;
    if (typeof config.add_prefix_space === "boolean") opts.addPrefixSpace = config.add_prefix_space;
    return {
      tokenizerJson: byteLevelBpeTokenizerJson(vocab as Record<string, number>, merges, opts),
      config,
    };
  }
  if (has("tokenizer.model")) {
    throw new CheckpointError(
      `tokenizer: ${dir} has only a SentencePiece tokenizer.model; imp-ts needs tokenizer.json. Write it once with ` +
        `transformers: python -c "from transformers import AutoTokenizer; ` +
        `AutoTokenizer.from_pretrained('${dir}').save_pretrained('${dir}')"`,
    );
  }
  throw new CheckpointError(
    `tokenizer: no tokenizer files in ${dir} (looked for tokenizer.json, or vocab.json + merges.txt)`,
  );
}
