/**
 * Errors as plain data, to cross the worker boundary (worker-engine.ts ↔ engine-worker.ts) and be rebuilt as the
 * same library class on the other side, so the server maps a worker's error exactly as an in-process one.
 */
import {
  CheckpointError,
  EngineError,
  FormatError,
  HttpError,
  RequestError,
  ShapeError,
  UsageError,
} from "../../util/errors.js";
import { AbortError } from "../generate.js";

export interface SerializedError {
  name: string;
  message: string;
  field?: string | null;
  detail?: string;
  code?: string | null;
  status?: number;
  param?: string | null;
  type?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof RequestError)
    return {
      name: "RequestError",
      message: err.message,
      field: err.field,
      detail: err.detail,
      code: err.code,
    };
  if (err instanceof EngineError) return { name: "EngineError", message: err.message, code: err.code };
  if (err instanceof HttpError)
    return { name: "HttpError", message: err.message, status: err.status, param: err.param, type: err.type };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "Error", message: String(err) };
}

const PLAIN: Record<string, new (message: string) => Error> = {
  ShapeError,
  FormatError,
  UsageError,
  CheckpointError,
  AbortError,
};

export function deserializeError(e: SerializedError): Error {
  if (e.name === "RequestError")
    return new RequestError(e.field ?? null, e.detail ?? e.message, e.code ?? null);
  if (e.name === "EngineError")
    return new EngineError(e.message, e.code === "shutting_down" ? "shutting_down" : "engine_failed");
  if (e.name === "HttpError") return new HttpError(e.status ?? 500, e.message, e.param ?? null, e.type);
  const known = Object.hasOwn(PLAIN, e.name) ? PLAIN[e.name] : undefined;
  if (known) return new known(e.message);
  // Unknown errors stay 500s: keep the name so the log says what it was.
  const out = new Error(e.message);
  out.name = e.name;
  return out;
}
