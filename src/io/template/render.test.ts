// The templates against a line-for-line model of Imp's Conversation.get_prompt, plus exact known prompts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UsageError } from "../../util/errors.js";
import { IMP_SYSTEM, phi2Template } from "./phi2.js";
import { phi3Template } from "./phi3.js";
import { qwen2Template } from "./qwen2.js";
import { getTemplate, TEMPLATES, templateForModelType } from "./registry.js";
import type { ChatMessage, ConversationTemplate } from "./types.js";
import { vicunaV1Template } from "./vicuna.js";

/** Imp's Conversation objects (imp_llava/conversation.py) as data. */
const CONVS = {
  phi2: { style: "TWO", system: IMP_SYSTEM, roles: ["USER", "ASSISTANT"], sep: " ", sep2: "</s>" },
  vicuna_v1: { style: "TWO", system: IMP_SYSTEM, roles: ["USER", "ASSISTANT"], sep: " ", sep2: "</s>" },
  qwen2: {
    style: "QWEN2",
    system: `<|im_start|>system\n${IMP_SYSTEM}`,
    roles: ["\n<|im_start|>user\n", "\n<|im_start|>assistant\n"],
    sep: "",
    sep2: "<|im_end|>",
  },
  phi3: {
    style: "PHI3",
    system: `<|system|>\n${IMP_SYSTEM}`,
    roles: ["\n<|user|>\n", "\n<|assistant|>\n"],
    sep: "",
    sep2: "<|end|>",
  },
} as const;

/** get_prompt for styles TWO, QWEN2 and PHI3; a null message is the generation prompt. */
function getPrompt(name: keyof typeof CONVS, messages: [string, string | null][]): string {
  const c = CONVS[name];
  if (c.style === "TWO") {
    const seps = [c.sep, c.sep2];
    let ret = c.system + seps[0];
    messages.forEach(([role, msg], i) => {
      ret += msg ? `${role}: ${msg}${seps[i % 2]}` : `${role}:`;
    });
    return ret;
  }
  let ret = c.system + c.sep2;
  for (const [role, msg] of messages) ret += msg ? role + msg + c.sep2 : role;
  if (c.style === "PHI3" && ret.endsWith(`${c.sep2}\n`)) ret = ret.slice(0, -1);
  return ret;
}

const QUESTION = "What is the color of the bus?";
const CHAT: ChatMessage[] = [
  { role: "user", content: `${QUESTION}\n<image>` },
  { role: "assistant", content: "The bus is red." },
  { role: "user", content: "How many wheels\ndoes it have?" },
  { role: "assistant", content: "It has 4 visible wheels, 2 on each side." },
];

describe("conversation templates", () => {
  for (const template of Object.values(TEMPLATES) as ConversationTemplate[]) {
    const name = template.name;
    const roles = CONVS[name].roles;

    test(`${name}: one question with an image, as get_prompt renders it`, () => {
      const r = template.render([{ role: "user", content: QUESTION }], { image: true });
      assert.equal(
        r.text,
        getPrompt(name, [
          [roles[0], `<image>\n${QUESTION}`],
          [roles[1], null],
        ]),
      );
      assert.deepEqual(r.replies, []);
    });

    test(`${name}: multi-turn, reply spans hold each answer and its end marker`, () => {
      const r = template.render(CHAT);
      const expected = getPrompt(name, [
        [roles[0], `<image>\n${QUESTION}`],
        [roles[1], "The bus is red."],
        [roles[0], "How many wheels\ndoes it have?"],
        [roles[1], "It has 4 visible wheels, 2 on each side."],
      ]);
      assert.equal(r.text, expected);
      const lead = template.parts.replyPrefix;
      const end = template.parts.assistantSuffix;
      assert.deepEqual(
        r.replies.map((s) => r.text.slice(s.start, s.end)),
        [`${lead}The bus is red.${end}`, `${lead}It has 4 visible wheels, 2 on each side.${end}`],
      );
      // Each span starts right after the assistant's role marker.
      for (const s of r.replies) assert.ok(r.text.slice(0, s.start).endsWith(template.parts.assistantPrefix));
      // Continuing the chat: the generation prompt after a new question.
      const next = template.render([...CHAT, { role: "user", content: "Thanks!" }]);
      assert.equal(
        next.text,
        getPrompt(name, [
          [roles[0], `<image>\n${QUESTION}`],
          [roles[1], "The bus is red."],
          [roles[0], "How many wheels\ndoes it have?"],
          [roles[1], "It has 4 visible wheels, 2 on each side."],
          [roles[0], "Thanks!"],
          [roles[1], null],
        ]),
      );
    });
  }

  test("the exact prompts of the model cards and the spec", () => {
    const q = [{ role: "user", content: "What are the colors of the bus in the image?" }] as ChatMessage[];
    assert.equal(
      phi2Template.render(q, { image: true }).text,
      "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, " +
        "detailed, and polite answers to the user's questions. USER: <image>\nWhat are the colors of the bus in " +
        "the image? ASSISTANT:",
    );
    assert.equal(
      vicunaV1Template.render(q, { image: true }).text,
      phi2Template.render(q, { image: true }).text,
    );
    assert.equal(
      qwen2Template.render(q, { image: true }).text,
      `<|im_start|>system\n${IMP_SYSTEM}<|im_end|>\n<|im_start|>user\n<image>\nWhat are the colors of the bus ` +
        "in the image?<|im_end|>\n<|im_start|>assistant\n",
    );
    assert.equal(
      phi3Template.render(q, { image: true }).text,
      `<|system|>\n${IMP_SYSTEM}<|end|>\n<|user|>\n<image>\nWhat are the colors of the bus in the image?<|end|>\n` +
        "<|assistant|>\n",
    );
  });

  test("image placement: inferred, forced, or left alone", () => {
    const t = phi2Template;
    const body = (text: string) => text.slice(IMP_SYSTEM.length + " USER: ".length, -" ASSISTANT:".length);
    assert.equal(
      body(t.render([{ role: "user", content: "  Hi <image> there  " }]).text),
      "<image>\nHi  there",
    );
    assert.equal(body(t.render([{ role: "user", content: " Hi" }], { image: true }).text), "<image>\n Hi");
    assert.equal(body(t.render([{ role: "user", content: "Hi" }]).text), "Hi");
    assert.equal(
      body(t.render([{ role: "user", content: "a <image> b" }], { image: false }).text),
      "a <image> b",
    );
    // Only the first user message gets the forced image.
    const two = t.render(
      [
        { role: "user", content: "Q1" },
        { role: "assistant", content: "A1" },
        { role: "user", content: "Q2" },
      ],
      { image: true },
    );
    assert.equal(two.text.match(/<image>/g)?.length, 1);
    assert.ok(two.text.includes("USER: <image>\nQ1 ASSISTANT: A1</s>USER: Q2 ASSISTANT:"));
  });

  test("image placement after the text (a question-first model): the mirror image, the later turns untouched", () => {
    const t = qwen2Template;
    const after = { imagePlacement: "after_text" } as const;
    const user = (text: string) => text.split("<|im_start|>user\n")[1]!.split("<|im_end|>")[0]!;
    assert.equal(
      user(t.render([{ role: "user", content: "  <image>\nWhat is it?  " }], after).text),
      "What is it?\n<image>",
    );
    // Forced, as the eval scripts prepend: the question is not trimmed.
    assert.equal(
      user(t.render([{ role: "user", content: "What is it? " }], { ...after, image: true }).text),
      "What is it? \n<image>",
    );
    assert.equal(user(t.render([{ role: "user", content: "What is it?" }], after).text), "What is it?");
    const two = t.render(
      [
        { role: "user", content: "<image>\nQ1" },
        { role: "assistant", content: "A1" },
        { role: "user", content: "Q2" },
      ],
      after,
    );
    assert.equal(two.text.match(/<image>/g)?.length, 1);
    assert.ok(
      two.text.includes(
        "user\nQ1\n<image><|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>",
      ),
    );
    // The official placement stays the default.
    assert.equal(
      t.render([{ role: "user", content: "Q" }], { image: true }).text,
      t.render([{ role: "user", content: "Q" }], { image: true, imagePlacement: "before_text" }).text,
    );
  });

  test("a system message replaces the default system prompt", () => {
    const r = qwen2Template.render([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
    ]);
    assert.equal(
      r.text,
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    );
    const noPrompt = qwen2Template.render([{ role: "user", content: "Hi" }], { addGenerationPrompt: false });
    assert.ok(noPrompt.text.endsWith("Hi<|im_end|>"));
  });

  test("messages out of order are a UsageError", () => {
    assert.throws(() => phi2Template.render([]), UsageError);
    assert.throws(() => phi2Template.render([{ role: "system", content: "x" }]), UsageError);
    assert.throws(() => phi2Template.render([{ role: "assistant", content: "x" }]), UsageError);
    assert.throws(
      () =>
        phi2Template.render([
          { role: "user", content: "x" },
          { role: "user", content: "y" },
        ]),
      /message 1 is from "user", expected "assistant"/,
    );
    assert.throws(
      () =>
        phi2Template.render([
          { role: "system", content: "s" },
          { role: "user", content: "x" },
          { role: "system", content: "y" },
        ]),
      /message 2 is from "system"/,
    );
  });

  test("stop strings and tokens", () => {
    assert.deepEqual([...phi2Template.stopStrings], ["</s>"]);
    assert.deepEqual([...phi2Template.stopTokens], ["</s>"]);
    assert.deepEqual([...vicunaV1Template.stopTokens], ["</s>"]);
    assert.deepEqual([...qwen2Template.stopStrings], ["<|im_end|>"]);
    assert.deepEqual([...qwen2Template.stopTokens], ["<|im_end|>", "<|endoftext|>"]);
    assert.deepEqual([...phi3Template.stopStrings], ["<|end|>"]);
    assert.deepEqual([...phi3Template.stopTokens], ["<|endoftext|>", "<|assistant|>", "<|end|>"]);
  });

  test("template by model_type and by name", () => {
    assert.equal(templateForModelType("imp"), phi2Template);
    assert.equal(templateForModelType("imp_qwen2"), qwen2Template);
    assert.equal(templateForModelType("imp_phi3"), phi3Template);
    assert.equal(templateForModelType("llava"), vicunaV1Template);
    assert.equal(templateForModelType("llava_llama"), vicunaV1Template);
    assert.throws(() => templateForModelType("mistral"), /no conversation template for model_type "mistral"/);
    assert.equal(getTemplate("qwen2"), qwen2Template);
    assert.throws(() => getTemplate("toString"), UsageError);
  });
});
