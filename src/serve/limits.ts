/**
 * What one request may ask of the server. Every limit has a CLI flag (src/cli/commands/serve.ts) and a
 * default sized so that an honest client never meets it while a hostile one cannot exhaust memory.
 */

export interface ServeLimits {
  /** Whole request body (a base64 image is ~4/3 of its file): over it → 413. */
  maxBodyBytes: number;
  /** One image's encoded bytes. */
  maxImageBytes: number;
  /** One image's width·height, checked from its header before decoding. */
  maxImagePixels: number;
  /** Messages in one conversation. */
  maxMessages: number;
  /** Images in one conversation (the Imp models are trained on one). */
  maxImages: number;
  /** `max_tokens` when the request gives none (still capped by the context). */
  defaultMaxTokens: number;
  /** Queue wait + generation, per request. */
  timeoutMs: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: ServeLimits = {
  maxBodyBytes: 32 * MiB,
  maxImageBytes: 20 * MiB,
  maxImagePixels: 25_000_000,
  maxMessages: 256,
  maxImages: 1,
  defaultMaxTokens: 512,
  timeoutMs: 300_000,
};
