/**
 * A small byte-level BPE trainer (Sennrich et al. 2016; GPT-2's byte-level variant) that writes a Hugging Face
 * tokenizer.json in Qwen2's layout, loadable by `Tokenizer.fromJson`/`fromFolder` (src/io/tokenizer):
 * 1. text is NFC-normalised, cut at the special tokens (which never take part in merges), and split by Qwen2's
 *    pre-tokenizer regex (digits one by one, a word with its leading space or punctuation, runs of spaces);
 * 2. each piece's UTF-8 bytes become GPT-2's printable byte characters (space → "Ġ");
 * 3. starting from the 256 bytes, the most frequent adjacent pair (weighted by piece counts) is merged until the
 *    vocabulary is full or no pair occurs `minFrequency` times; ties go to the smaller pair (left symbol, then
 *    right, by code units), so the result depends on the text alone.
 * Ids: bytes 0–255 in byte order, then merges in order, then the special tokens.
 */
import { byteLevelBpeTokenizerJson } from "../io/tokenizer/bpe-files.js";

/** Qwen2's split pattern; Node 20's RegExp has no inline (?i:…), so the contractions are spelt out. */
export const PRETOKENIZE =
  /'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/** GPT-2's reversible map from bytes to printable characters. */
export function bytesToUnicode(): string[] {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return out;
}

export interface BpeTrainOptions {
  /** Total vocabulary including the special tokens. */
  vocabSize: number;
  specialTokens: readonly string[];
  /** A pair seen fewer times than this is never merged (default 2). */
  minFrequency?: number;
}

export interface BpeModel {
  /** Token → id: bytes, then merged tokens (specials are added tokens, not here). */
  vocab: Record<string, number>;
  /** "left right" in priority order. */
  merges: string[];
  specialTokens: string[];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Counts of the byte-level pieces of `texts`, specials removed. */
export function pieceCounts(texts: Iterable<string>, specialTokens: readonly string[]): Map<string, number> {
  const byteChar = bytesToUnicode();
  const enc = new TextEncoder();
  const specials =
    specialTokens.length > 0 ? new RegExp(specialTokens.map(escapeRegExp).join("|"), "g") : null;
  const counts = new Map<string, number>();
  for (const text of texts) {
    const parts = specials ? text.normalize("NFC").split(specials) : [text.normalize("NFC")];
    for (const part of parts) {
      for (const m of part.matchAll(PRETOKENIZE)) {
        let s = "";
        for (const b of enc.encode(m[0])) s += byteChar[b];
        counts.set(s, (counts.get(s) ?? 0) + 1);
      }
    }
  }
  return counts;
}

/** Learns merges from `texts`. */
export function trainBpe(texts: Iterable<string>, opts: BpeTrainOptions): BpeModel {
  const minFrequency = opts.minFrequency ?? 2;
  const byteChar = bytesToUnicode();
  const vocab: Record<string, number> = {};
  byteChar.forEach((c, b) => {
    vocab[c] = b;
  });
  const maxMerges = opts.vocabSize - 256 - opts.specialTokens.length;
  if (maxMerges < 0)
    throw new RangeError(
      `vocabSize ${opts.vocabSize} is below 256 bytes + ${opts.specialTokens.length} specials`,
    );
  // Sorted so the word order (and so every count) does not depend on the order texts came in.
  const entries = [...pieceCounts(texts, opts.specialTokens)].sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0,
  );
  const words = entries.map(([w]) => [...w]);
  const counts = entries.map(([, c]) => c);
  const merges: string[] = [];
  // Pair counts kept up to date as words change; a pair key is "left right" (no symbol holds a raw space, so
  // key order is (left, right) order).
  const pairs = new Map<string, number>();
  const add = (w: string[], c: number) => {
    for (let i = 0; i + 1 < w.length; i++) {
      const k = `${w[i]} ${w[i + 1]}`;
      pairs.set(k, (pairs.get(k) ?? 0) + c);
    }
  };
  words.forEach((w, i) => {
    add(w, counts[i]!);
  });
  while (merges.length < maxMerges) {
    let best = "";
    let bestCount = 0;
    for (const [k, c] of pairs) {
      if (c > bestCount || (c === bestCount && c > 0 && k < best)) {
        best = k;
        bestCount = c;
      }
    }
    if (bestCount < minFrequency) break;
    const [a, b] = best.split(" ") as [string, string];
    const merged = a + b;
    for (let wi = 0; wi < words.length; wi++) {
      const w = words[wi]!;
      let hit = false;
      for (let i = 0; i + 1 < w.length; i++) {
        if (w[i] === a && w[i + 1] === b) {
          hit = true;
          break;
        }
      }
      if (!hit) continue;
      add(w, -counts[wi]!);
      const out: string[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          out.push(merged);
          i++;
        } else out.push(w[i]!);
      }
      words[wi] = out;
      add(out, counts[wi]!);
    }
    for (const [k, c] of pairs) if (c === 0) pairs.delete(k);
    merges.push(best);
    vocab[merged] = 256 + merges.length - 1;
  }
  return { vocab, merges, specialTokens: [...opts.specialTokens] };
}

/** tokenizer.json (Qwen2 layout) with the specials as added tokens after the vocabulary. */
export function tokenizerJson(model: BpeModel): Record<string, unknown> {
  const json = byteLevelBpeTokenizerJson(model.vocab, model.merges, { tokenizerClass: "Qwen2Tokenizer" });
  const first = Object.keys(model.vocab).length;
  json.added_tokens = model.specialTokens.map((content, i) => ({
    id: first + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  (json.model as Record<string, unknown>).ignore_merges = false;
  return json;
}
