/**
 * Tokenizing a prompt that holds `<image>` placeholders, as LLaVA's and Imp's `tokenizer_image_token`
 * (mm_utils.py) does, so that ids match the official code token for token. Its rules, in words:
 * 1. Cut the prompt at every literal "<image>" (no tokenization across a cut, even if "<image>" is also
 *    an added token of the vocabulary).
 * 2. Tokenize each piece on its own with the tokenizer's default special tokens; an empty piece still goes
 *    through the tokenizer (a Llama tokenizer turns it into a lone BOS).
 * 3. If the first piece starts with the BOS id, emit that BOS once, and drop the first token of every piece,
 *    the first included (each was tokenized with its own BOS). Otherwise (Phi-2, Qwen: no BOS) keep
 *    every piece whole.
 * 4. Put one placeholder id between consecutive pieces.
 * The model later replaces each placeholder by the image's embeddings.
 */
import type { Tokenizer } from "./tokenizer.js";

/** The placeholder string of LLaVA-format prompts and data (`DEFAULT_IMAGE_TOKEN`). */
export const IMAGE_TOKEN = "<image>";

/** LLaVA's placeholder id (`IMAGE_TOKEN_INDEX`), outside every vocabulary; Imp's HF code uses a real token id. */
export const IMAGE_TOKEN_INDEX = -200;

export function tokenizeWithImage(tok: Tokenizer, text: string, placeholderId: number): number[] {
  const pieces = text.split(IMAGE_TOKEN).map((piece) => tok.encode(piece));
  const out: number[] = [];
  const first = pieces[0]!;
  const offset = first.length > 0 && tok.bosId !== undefined && first[0] === tok.bosId ? 1 : 0;
  if (offset === 1) out.push(first[0]!);
  pieces.forEach((ids, i) => {
    if (i > 0) out.push(placeholderId);
    for (let j = offset; j < ids.length; j++) out.push(ids[j]!);
  });
  return out;
}
