/**
 * The one place where errors become HTTP responses. Every 4xx/5xx the server sends is built here, in
 * OpenAI's shape `{error: {message, type, param, code}}` (or Ollama's `{error: "message"}` on /api/*), so
 * clients see one format whatever failed: validation, the queue, an image, the engine, or a bug.
 */
import { AbortError } from "../runtime/generate.js";
import {
  EngineError,
  FormatError,
  HttpError,
  ImpError,
  RequestError,
  ShapeError,
  UsageError,
} from "../util/errors.js";

/** An HttpError with OpenAI's `code` and extra response headers (Retry-After on 429). */
export class ApiError extends HttpError {
  constructor(
    status: number,
    message: string,
    param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
    type?: string,
  ) {
    super(status, message, param, type);
  }
}

/** 400 naming the offending field: the error every validation step throws. */
export function invalid(param: string | null, message: string, code: string | null = null): ApiError {
  return new ApiError(400, param ? `${param}: ${message}` : message, param, code);
}

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface MappedError {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** A bug rather than a bad request: worth logging with its stack. */
  internal: boolean;
}

/** Maps any thrown value to a status and an OpenAI-shaped body. */
export function mapError(err: unknown): MappedError {
  const make = (
    status: number,
    message: string,
    type: string,
    param: string | null,
    code: string | null,
  ) => ({
    status,
    body: { error: { message, type, param, code } },
    headers: {},
    internal: false,
  });
  if (err instanceof ApiError)
    return { ...make(err.status, err.message, err.type, err.param, err.code), headers: err.headers };
  if (err instanceof HttpError) return make(err.status, err.message, err.type, err.param, null);
  if (err instanceof RequestError)
    return make(400, err.message, "invalid_request_error", err.field, err.code);
  if (err instanceof EngineError)
    return err.code === "shutting_down"
      ? make(503, err.message, "server_error", null, err.code)
      : make(500, err.message, "server_error", null, err.code);
  // A prompt over the context (generate.ts) or an image the decoder refuses: the client's input.
  if (err instanceof ShapeError)
    return make(
      400,
      `too many tokens for the context: ${err.message}`,
      "invalid_request_error",
      "messages",
      "context_length_exceeded",
    );
  if (err instanceof FormatError || err instanceof UsageError)
    return make(400, err.message, "invalid_request_error", null, null);
  if (err instanceof AbortError)
    return make(499, "the request was cancelled", "invalid_request_error", null, null);
  if (err instanceof ImpError) return make(500, err.message, "server_error", null, null);
  return {
    ...make(500, "internal server error (see the server's log)", "server_error", null, null),
    internal: true,
  };
}

/** The same error as Ollama's API returns it: `{error: "message"}`. */
export function toOllamaBody(mapped: MappedError): { error: string } {
  return { error: mapped.body.error.message };
}
