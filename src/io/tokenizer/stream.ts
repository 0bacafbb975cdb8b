/**
 * Streaming detokenizer: turns generated ids into text as they arrive, never emitting half a character.
 *
 * Byte-level BPE (Phi-2, Qwen) and SentencePiece byte fallback (Llama, Phi-3) split one character over
 * several tokens, and some decoders depend on the token before (the leading-space strip of Llama). So each
 * step decodes a short window that starts one token before the unread tail (the method of text-generation-
 * inference's `decode_token`): the text new since the last step is the window's decoding minus its prefix's.
 * While that ends in U+FFFD the character is incomplete, and the step waits for more tokens.
 * The concatenated output equals `tokenizer.decode(allIds)`, except where the config's clean-up of
 * tokenization spaces joins text across an already-emitted boundary.
 */
import type { DecodeOptions, Tokenizer } from "./tokenizer.js";

export interface StreamDecoder {
  /** Adds one generated id; returns the text it completes (often "", never a partial character). */
  push(id: number): string;
  /** Returns whatever is still held back (an unfinished character comes out as U+FFFD), and resets. */
  flush(): string;
}

const REPLACEMENT = "\uFFFD";

/** `opts.skipSpecialTokens` defaults to true here: streamed text is for people. */
export function createStreamDecoder(tokenizer: Tokenizer, opts: DecodeOptions = {}): StreamDecoder {
  const decodeOpts: DecodeOptions = { ...opts, skipSpecialTokens: opts.skipSpecialTokens ?? true };
  let ids: number[] = [];
  let prefixOffset = 0; // window start: one token before the unread ones, for context
  let readOffset = 0; // ids before this are already emitted

  return {
    push(id: number): string {
      ids.push(id);
      const prefixText = tokenizer.decode(ids.slice(prefixOffset, readOffset), decodeOpts);
      const newText = tokenizer.decode(ids.slice(prefixOffset), decodeOpts);
      if (newText.length <= prefixText.length || newText.endsWith(REPLACEMENT)) return "";
      const delta = newText.slice(prefixText.length);
      prefixOffset = readOffset;
      readOffset = ids.length;
      // Keep the id list short: the window never looks before prefixOffset.
      if (prefixOffset > 64) {
        ids = ids.slice(prefixOffset);
        readOffset -= prefixOffset;
        prefixOffset = 0;
      }
      return delta;
    },
    flush(): string {
      let rest = "";
      if (readOffset < ids.length) {
        const prefixText = tokenizer.decode(ids.slice(prefixOffset, readOffset), decodeOpts);
        const newText = tokenizer.decode(ids.slice(prefixOffset), decodeOpts);
        rest = newText.slice(prefixText.length);
      }
      ids = [];
      prefixOffset = 0;
      readOffset = 0;
      return rest;
    },
  };
}
