/**
 * What the evaluation runner needs from a model: one greedy answer to one question about at most one image.
 * Implementations: an OpenAI-compatible HTTP endpoint (openai-answerer.ts) and, later, a local checkpoint
 * (local-answerer.ts).
 */

export interface AnswerRequest {
  /** The image as a file path or as bytes; neither for a text-only question. */
  imagePath?: string;
  imageBytes?: Uint8Array;
  /** The question text, without any image token. */
  prompt: string;
  /** Maximum new tokens. Decoding is greedy (temperature 0). */
  maxTokens: number;
  signal?: AbortSignal;
}

export interface Answerer {
  /** Recorded as `model_id` in the answers file. */
  readonly modelId: string;
  /** The model's answer, as generated (the runner strips surrounding whitespace as LLaVA does). */
  answer(req: AnswerRequest): Promise<string>;
  close?(): Promise<void>;
}

/** MIME type of an image from its first bytes (PNG, JPEG, GIF, WebP, BMP); JPEG when unknown. */
export function imageMime(bytes: Uint8Array): string {
  const b = bytes;
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (b[0] === 0xff && b[1] === 0xd8) return "image/jpeg";
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return "image/gif";
  if (b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45) {
    return "image/webp";
  }
  if (b[0] === 0x42 && b[1] === 0x4d) return "image/bmp";
  return "image/jpeg";
}
