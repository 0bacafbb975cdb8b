/**
 * The model's conversation template (io/template) as the Jinja `tokenizer.chat_template` that llama.cpp,
 * Ollama and node-llama-cpp render, for checkpoints whose tokenizer config has none (Imp's do not).
 * It renders what `renderConversation` renders for text: an optional system message (else the template's
 * default), user/assistant turns, and the assistant marker as the generation prompt. Images are the runtime's
 * business: llama.cpp puts its media marker inside the user text.
 */
import type { TemplateParts } from "../../io/template/types.js";

/** A Jinja string literal (JSON's escapes are Python's). */
const lit = (s: string) => JSON.stringify(s);

export function jinjaChatTemplate(p: TemplateParts): string {
  return [
    `{%- if messages and messages[0]['role'] == 'system' -%}`,
    `{%- set system = messages[0]['content'] -%}{%- set turns = messages[1:] -%}`,
    `{%- else -%}{%- set system = ${lit(p.defaultSystem)} -%}{%- set turns = messages -%}{%- endif -%}`,
    `{{ ${lit(p.systemPrefix)} + system + ${lit(p.systemSuffix)} }}`,
    `{%- for m in turns -%}`,
    `{%- if m['role'] == 'user' -%}{{ ${lit(p.userPrefix)} + m['content'] + ${lit(p.userSuffix)} }}`,
    `{%- elif m['role'] == 'assistant' -%}`,
    `{{ ${lit(p.assistantPrefix)} + ${lit(p.replyPrefix)} + m['content'] + ${lit(p.assistantSuffix)} }}`,
    `{%- endif -%}`,
    `{%- endfor -%}`,
    `{%- if add_generation_prompt -%}{{ ${lit(p.assistantPrefix)} }}{%- endif -%}`,
  ].join("");
}
