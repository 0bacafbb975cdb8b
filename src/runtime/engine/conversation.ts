/**
 * A client's messages → the conversation the model's template renders. Clients send what OpenAI allows
 * (several system messages, consecutive user turns, "developer" for system); the Imp templates want an
 * optional system message, then user and assistant in turn, ending with the user. This file is the one
 * mapping between the two, shared by the OpenAI and Ollama endpoints.
 */
import type { ChatMessage } from "../../io/template/index.js";
import { IMAGE_TOKEN } from "../../io/tokenizer/index.js";
import { RequestError } from "../../util/errors.js";

export interface Turn {
  role: "system" | "user" | "assistant";
  text: string;
  /** The request field of the turn's role (for errors): `messages[3].role`. */
  field: string;
  /** The turn carries the conversation's image. */
  hasImage: boolean;
}

/**
 * Builds the template's messages: system turns are joined into one system message (in order, wherever
 * they stood), consecutive turns of one role are joined with a newline, the image's turn gets the `<image>`
 * marker. A conversation must then start and end with the user.
 */
export function toTemplateMessages(turns: readonly Turn[]): ChatMessage[] {
  const system = turns.filter((t) => t.role === "system").map((t) => t.text);
  const out: ChatMessage[] = system.length > 0 ? [{ role: "system", content: system.join("\n\n") }] : [];
  const chat = turns.filter((t) => t.role !== "system");
  if (chat.length === 0) throw new RequestError("messages", "the conversation has no user message");
  if (chat[0]!.role !== "user")
    throw new RequestError(
      chat[0]!.field,
      "the conversation must start with a user message (after any system message)",
    );
  const last = chat[chat.length - 1]!;
  if (last.role !== "user") throw new RequestError(last.field, "the last message must be from the user");
  for (const t of chat) {
    // The template puts the image where this marker is (Imp: "<image>\n" + the question).
    const content = t.hasImage ? `${IMAGE_TOKEN}\n${t.text}` : t.text;
    const prev = out[out.length - 1];
    if (prev && prev.role === t.role) prev.content += `\n${content}`;
    else out.push({ role: t.role, content });
  }
  return out;
}

/** Refuses text that holds `<image>`: the tokenizer would take it for the image placeholder. */
export function checkText(text: string, field: string): string {
  if (text.includes(IMAGE_TOKEN))
    throw new RequestError(
      field,
      `the text "${IMAGE_TOKEN}" is reserved for the image; send the image as an image part`,
    );
  return text;
}
