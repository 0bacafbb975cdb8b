/** Text tokenizer of a checkpoint, streaming detokenizer, and LLaVA-style `<image>` tokenization. */
export type { AddedTokenSpec, TokenizerSettings } from "./config.js";
export { IMAGE_TOKEN, IMAGE_TOKEN_INDEX, tokenizeWithImage } from "./image-tokens.js";
export { createStreamDecoder, type StreamDecoder } from "./stream.js";
export { type DecodeOptions, type EncodeOptions, Tokenizer } from "./tokenizer.js";
