/**
 * Test-only: the Imp tokenizers built from the reference packages (see tokenizer-reference.ts), loaded through the
 * normal paths and cached for the test file that asks.
 */
import { rmSync } from "node:fs";
import { Tokenizer } from "../io/tokenizer/tokenizer.js";
import {
  llamaTokenizerJson,
  phi3Added,
  phi3Config,
  QWEN_CONFIG,
  qwenTokenizerJson,
  VICUNA_CONFIG,
  writePhi2Folder,
} from "./tokenizer-reference.js";

const cache = new Map<string, Promise<Tokenizer>>();

function cached(key: string, build: () => Promise<Tokenizer>): Promise<Tokenizer> {
  let t = cache.get(key);
  if (!t) cache.set(key, (t = build()));
  return t;
}

/** Phi-2 + Imp's tokens, from a folder with vocab.json + merges.txt + added_tokens.json (no tokenizer.json). */
export const phi2Tokenizer = () =>
  cached("phi2", async () => {
    const dir = writePhi2Folder();
    try {
      return await Tokenizer.fromFolder(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

/** Llama-2 / Vicuna-v1.5 (LLaVA-1.5), legacy layout. */
export const vicunaTokenizer = () =>
  cached("vicuna", async () => Tokenizer.fromJson(llamaTokenizerJson(), VICUNA_CONFIG));

/** Phi-3-mini: Llama-2's vocabulary plus its chat tokens; BOS as `add_bos_token` says; see `phi3Added`. */
export const phi3Tokenizer = (addBos = true, markersEatNewline = true) =>
  cached(`phi3-${addBos}-${markersEatNewline}`, async () =>
    Tokenizer.fromJson(llamaTokenizerJson({ added: phi3Added(markersEatNewline) }), phi3Config(addBos)),
  );

/** Qwen1.5 + Imp's `<image>`. */
export const qwenTokenizer = () =>
  cached("qwen", async () => Tokenizer.fromJson(qwenTokenizerJson(), QWEN_CONFIG));
