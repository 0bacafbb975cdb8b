/**
 * Field checks for request bodies: each one names the field (`messages[1].content[0].image_url.url`) and
 * what was expected, as a 400 in OpenAI's shape.
 */
import { invalid } from "./errors.js";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function typeName(v: unknown): string {
  return v === null
    ? "null"
    : Array.isArray(v)
      ? "an array"
      : typeof v === "object"
        ? "an object"
        : `a ${typeof v}`;
}

/** Parses a JSON body; the error names what is wrong. */
export function parseJsonBody(text: string): JsonObject {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw invalid(null, `the request body is not valid JSON (${(err as Error).message})`, "invalid_json");
  }
  if (!isObject(body)) throw invalid(null, `the request body must be a JSON object, got ${typeName(body)}`);
  return body;
}

export interface NumberRule {
  min?: number;
  max?: number;
  /** The bound itself is refused (top_p > 0). */
  exclusiveMin?: boolean;
  integer?: boolean;
}

/** An optional number (absent or null → undefined). */
export function optNumber(v: unknown, field: string, rule: NumberRule = {}): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v))
    throw invalid(field, `expected a number, got ${typeName(v)}`);
  if (rule.integer && !Number.isInteger(v)) throw invalid(field, `expected an integer, got ${v}`);
  if (rule.min !== undefined && (rule.exclusiveMin ? v <= rule.min : v < rule.min))
    throw invalid(field, `must be ${rule.exclusiveMin ? ">" : "≥"} ${rule.min}, got ${v}`);
  if (rule.max !== undefined && v > rule.max) throw invalid(field, `must be ≤ ${rule.max}, got ${v}`);
  return v;
}

export function optBoolean(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw invalid(field, `expected a boolean, got ${typeName(v)}`);
  return v;
}

export function optString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw invalid(field, `expected a string, got ${typeName(v)}`);
  return v;
}

/** `stop`: a string or an array of at most `max` non-empty strings. */
export function stopList(v: unknown, field: string, max: number): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list))
    throw invalid(field, `expected a string or an array of strings, got ${typeName(v)}`);
  if (list.length > max) throw invalid(field, `at most ${max} stop strings, got ${list.length}`);
  return list.map((s, i) => {
    if (typeof s !== "string" || s === "") throw invalid(`${field}[${i}]`, "expected a non-empty string");
    return s;
  });
}

/** Refuses a parameter we do not implement unless it has its neutral value. */
export function unsupportedUnless(
  v: unknown,
  field: string,
  neutral: (v: unknown) => boolean,
  why: string,
): void {
  if (v === undefined || v === null || neutral(v)) return;
  throw invalid(field, `unsupported: ${why}`, "unsupported_parameter");
}
