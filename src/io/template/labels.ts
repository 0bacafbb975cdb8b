/**
 * Token ids and training labels of a rendered conversation: the label of a token is its id inside an
 * assistant reply (the spans of `RenderedConversation.replies`) and IGNORE_INDEX elsewhere (BOS, system,
 * user turns, role markers, image placeholder).
 *
 * The official preprocess_* functions (Imp train.py, LLaVA train.py) count tokens per round with fixed
 * corrections for each tokenizer (BOS, the lone space token after "ASSISTANT:", legacy SentencePiece
 * prefixes); where a count is off they mask the whole sample. Here the boundary of each reply is found
 * by tokenizing the text up to it, which gives the same positions whenever those counts are right, and
 * needs no per-tokenizer correction. If the text up to a boundary does not tokenize to a prefix of the
 * whole (a boundary inside a token), every label is masked and `aligned` is false, as the official code does.
 */
import { tokenizeWithImage } from "../tokenizer/image-tokens.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import type { RenderedConversation } from "./types.js";

/** PyTorch's cross-entropy ignore index, as LLaVA uses it. */
export const IGNORE_INDEX = -100;

export interface TokenizedConversation {
  ids: number[];
  /** Same length as ids: the id where the loss applies, IGNORE_INDEX elsewhere. */
  labels: number[];
  /** False when a reply boundary fell inside a token; then every label is IGNORE_INDEX. */
  aligned: boolean;
}

export function tokenizeConversation(
  tok: Tokenizer,
  conv: RenderedConversation,
  placeholderId: number,
): TokenizedConversation {
  const ids = tokenizeWithImage(tok, conv.text, placeholderId);
  const labels: number[] = new Array(ids.length).fill(IGNORE_INDEX);
  const cache = new Map<number, number | undefined>();
  // Number of leading tokens of `ids` that spell text[0:end], or undefined if that prefix tokenizes differently.
  const tokensBefore = (end: number): number | undefined => {
    if (cache.has(end)) return cache.get(end);
    const prefix = tokenizeWithImage(tok, conv.text.slice(0, end), placeholderId);
    const ok = prefix.length <= ids.length && prefix.every((id, i) => id === ids[i]);
    cache.set(end, ok ? prefix.length : undefined);
    return ok ? prefix.length : undefined;
  };
  for (const span of conv.replies) {
    const from = tokensBefore(span.start);
    const to = tokensBefore(span.end);
    if (from === undefined || to === undefined)
      return { ids, labels: labels.fill(IGNORE_INDEX), aligned: false };
    for (let i = from; i < to; i++) labels[i] = ids[i]!;
  }
  return { ids, labels, aligned: true };
}
