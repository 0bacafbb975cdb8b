// Training labels from reply spans against the official round-counting masks (preprocess_* in Imp's train.py).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  phi2Tokenizer,
  phi3Tokenizer,
  qwenTokenizer,
  vicunaTokenizer,
} from "../../testing/reference-tokenizers.js";
import { IMAGE_TOKEN_INDEX, tokenizeWithImage } from "../tokenizer/image-tokens.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import { IGNORE_INDEX, tokenizeConversation } from "./labels.js";
import { phi2Template } from "./phi2.js";
import { phi3Template } from "./phi3.js";
import { qwen2Template } from "./qwen2.js";
import type { ChatMessage, ConversationTemplate, TemplateName } from "./types.js";
import { vicunaV1Template } from "./vicuna.js";

/**
 * The official masks, by the same arithmetic: rounds cut at the end marker, token counts of each round and of
 * its prompt part, with each function's fixed corrections. A count mismatch masks everything.
 */
function officialLabels(name: TemplateName, tok: Tokenizer, text: string): number[] {
  const count = (s: string) => tokenizeWithImage(tok, s, IMAGE_TOKEN_INDEX).length;
  const ids = tokenizeWithImage(tok, text, IMAGE_TOKEN_INDEX);
  const target = [...ids];
  const mask = (from: number, to: number) => {
    for (let i = from; i < Math.min(to, target.length); i++) target[i] = IGNORE_INDEX;
  };
  let rounds: string[];
  let sep: string;
  let cur: number;
  let roundFix: number;
  let instrFix: number;
  if (name === "phi2" || name === "vicuna_v1") {
    rounds = text.split("</s>");
    sep = " ASSISTANT: ";
    // preprocess_phi2: +1 for the </s> cut off, -1 for the lone space token; preprocess_v1: BOS stands in for
    // the </s>, -2 for BOS and the lone "▁".
    [cur, roundFix, instrFix] = name === "phi2" ? [0, 1, -1] : [1, 0, -2];
  } else {
    const sep2 = name === "qwen2" ? "<|im_end|>" : "<|end|>";
    const cut = text.split(sep2);
    const round0 = cut[0] + sep2;
    const rest = cut.slice(1, -1);
    rounds = [];
    for (let i = 0; i < rest.length; i += 2) rounds.push(rest[i] + sep2 + rest[i + 1] + sep2);
    rounds[0] = round0 + rounds[0];
    sep = sep2 + (name === "qwen2" ? "\n<|im_start|>assistant\n" : "\n<|assistant|>\n");
    // preprocess_qwen2: exact counts; preprocess_phi3: -1 for each piece's BOS.
    [cur, roundFix, instrFix] = name === "qwen2" ? [0, 0, 0] : [1, -1, -1];
  }
  mask(0, cur);
  for (const rou of rounds) {
    if (rou === "") break;
    const parts = rou.split(sep);
    if (parts.length !== 2) break;
    const roundLen = count(rou) + roundFix;
    const instrLen = count(parts[0] + sep) + instrFix;
    mask(cur, cur + instrLen);
    cur += roundLen;
  }
  mask(cur, target.length);
  if (cur !== ids.length) mask(0, target.length);
  return target;
}

const CHATS: ChatMessage[][] = [
  [
    { role: "user", content: "<image>\nWhat is the color of the bus?" },
    { role: "assistant", content: "The bus is red." },
  ],
  [
    { role: "user", content: "What is shown? <image>" },
    { role: "assistant", content: "A llama 🦙 on a hill, 镇 in the distance." },
    { role: "user", content: "How many legs\n\ndoes it have?" },
    { role: "assistant", content: "It has 4 legs.\nAll visible." },
    { role: "user", content: "Is it 2024?" },
    { role: "assistant", content: "Maybe: 2024-05-17, or 1999." },
  ],
  [
    { role: "user", content: "No image here, just text." },
    { role: "assistant", content: "Understood." },
  ],
];

/** [name, template, tokenizer, whether the official counts may go wrong and drop a multi-turn sample] */
const CASES: [string, ConversationTemplate, () => Promise<Tokenizer>, boolean][] = [
  ["phi2", phi2Template, phi2Tokenizer, false],
  ["vicuna_v1", vicunaV1Template, vicunaTokenizer, false],
  ["qwen2", qwen2Template, qwenTokenizer, false],
  ["phi3 (markers keep their newline)", phi3Template, () => phi3Tokenizer(true, false), false],
  // Later rounds lose a "\n" in context that they keep when tokenized alone, so Imp's preprocess_phi3
  // miscounts and masks the whole sample; the spans here stay right.
  ["phi3 (markers eat their newline)", phi3Template, () => phi3Tokenizer(true, true), true],
];

describe("training labels", () => {
  for (const [name, template, load, officialMayDrop] of CASES) {
    test(`${name}: the same labels as the official mask`, async () => {
      const tok = await load();
      for (const chat of CHATS) {
        const r = template.render(chat);
        const { ids, labels, aligned } = tokenizeConversation(tok, r, IMAGE_TOKEN_INDEX);
        assert.ok(aligned, r.text);
        assert.deepEqual(ids, tokenizeWithImage(tok, r.text, IMAGE_TOKEN_INDEX));
        const official = officialLabels(template.name, tok, r.text);
        if (official.every((l) => l === IGNORE_INDEX)) {
          assert.ok(officialMayDrop && chat.length > 2, `official mask dropped: ${r.text}`);
        } else {
          assert.deepEqual(labels, official, r.text);
        }
        // Each run of supervised tokens spells one reply and its end marker.
        const runs: number[][] = [];
        labels.forEach((l, i) => {
          if (l === IGNORE_INDEX) return;
          if (i === 0 || labels[i - 1] === IGNORE_INDEX) runs.push([]);
          runs[runs.length - 1]!.push(ids[i]!);
        });
        assert.deepEqual(
          runs.map((run) => tok.decode(run, { cleanUpTokenizationSpaces: false }).trimStart()),
          r.replies.map((s) => r.text.slice(s.start, s.end).trimStart()),
        );
      }
    });
  }

  test("a reply boundary inside a token masks everything", async () => {
    const tok = await qwenTokenizer();
    // Qwen joins the newline after "assistant" with the reply's leading newlines into one token.
    const r = qwen2Template.render([
      { role: "user", content: "Hi" },
      { role: "assistant", content: "\n\nHello" },
    ]);
    const { labels, aligned } = tokenizeConversation(tok, r, IMAGE_TOKEN_INDEX);
    assert.equal(aligned, false);
    assert.ok(labels.every((l) => l === IGNORE_INDEX));
  });
});
