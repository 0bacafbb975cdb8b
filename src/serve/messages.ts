/**
 * A chat body's `messages` as both chat APIs check them: an array of at most `maxMessages` message objects, each
 * with a known role; what a message holds (OpenAI's content parts, Ollama's content and images) each API reads
 * with its own `content` function. Every refusal is a 400 naming the field.
 */

import type { Turn } from "../runtime/engine/conversation.js";
import type { ImageRef } from "./chat-request.js";
import { invalid } from "./errors.js";
import { isObject, type JsonObject, typeName } from "./fields.js";

export interface MessagesFormat {
  /** The API's role names and the turn role each is. */
  roles: Readonly<Record<string, Turn["role"]>>;
  /** Whether an empty conversation is refused. */
  nonEmpty: boolean;
  /** A message's text; its images are pushed onto `images`. */
  content: (message: JsonObject, field: string, role: Turn["role"], images: ImageRef[]) => string;
}

/** Roles of tool calling, which no model here makes: named as unsupported rather than unknown. */
const TOOL_ROLES = new Set(["tool", "function"]);

export function parseMessages(
  v: unknown,
  maxMessages: number,
  format: MessagesFormat,
): { turns: Turn[]; images: ImageRef[] } {
  const what = format.nonEmpty ? "a non-empty array" : "an array";
  if (v === undefined || v === null) throw invalid("messages", `required: the conversation, ${what}`);
  if (!Array.isArray(v)) throw invalid("messages", `expected an array, got ${typeName(v)}`);
  if (format.nonEmpty && v.length === 0) throw invalid("messages", "the conversation is empty");
  if (v.length > maxMessages) throw invalid("messages", `at most ${maxMessages} messages, got ${v.length}`);
  const names = Object.keys(format.roles);
  const expected = `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
  const images: ImageRef[] = [];
  const turns = v.map((m, i): Turn => {
    const f = `messages[${i}]`;
    if (!isObject(m)) throw invalid(f, `expected a message object, got ${typeName(m)}`);
    if (typeof m.role !== "string") throw invalid(`${f}.role`, `expected a string, got ${typeName(m.role)}`);
    const role = Object.hasOwn(format.roles, m.role) ? format.roles[m.role] : undefined;
    if (!role)
      throw invalid(
        `${f}.role`,
        TOOL_ROLES.has(m.role)
          ? `role "${m.role}" is not supported (no tool calls)`
          : `unknown role "${m.role}"; expected ${expected}`,
      );
    const before = images.length;
    const text = format.content(m, f, role, images);
    return { role, text, field: `${f}.role`, hasImage: images.length > before };
  });
  return { turns, images };
}
