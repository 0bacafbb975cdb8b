// LLaVA-format records: well-formed conversations, the official suffixes where the benchmarks use them,
// valid letters for multiple choice, and existence answers that match the scene.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LETTER_PROMPT } from "./mc.js";
import { popeStats, presentCategories } from "./pope.js";
import { CONV_OPENINGS, RECORD_CATEGORIES, SHORT_PROMPT, sceneRecords } from "./records.js";
import { makeScene, splitSeeds } from "./world.js";

const scenes = splitSeeds("train", 300).map((s) => makeScene(s));
const stats = popeStats(scenes.filter((s) => s.kind === "shapes"));

test("records are well-formed LLaVA conversations", () => {
  const seen = new Map<string, number>();
  for (const s of scenes) {
    const recs = sceneRecords(s, `train/x${s.id}.png`, stats);
    for (const [cat, r] of Object.entries(recs)) {
      seen.set(cat, (seen.get(cat) ?? 0) + 1);
      assert.equal(r.id, `${s.id}-${cat}`);
      assert.equal(r.image, `train/x${s.id}.png`);
      const turns = r.conversations;
      assert.ok(turns.length >= 2 && turns.length % 2 === 0);
      turns.forEach((t, i) => {
        assert.equal(t.from, i % 2 === 0 ? "human" : "gpt");
        assert.ok(t.value.trim().length > 0);
        assert.equal(t.value.includes("<image>"), i === 0, `${r.id}: <image> in turn ${i}`);
      });
      assert.ok(turns[0]!.value.startsWith("<image>\n"));
      const humans = turns.filter((t) => t.from === "human").map((t) => t.value);
      const gpts = turns.filter((t) => t.from === "gpt").map((t) => t.value);
      if (["vqa", "pope", "text", "chart"].includes(cat)) {
        for (const h of humans) assert.ok(h.endsWith(`\n${SHORT_PROMPT}`), `${r.id}: ${h}`);
        for (const g of gpts) {
          // Short and lower case; a label letter is upper case, as drawn.
          assert.ok(
            g.split(" ").length <= 3 && (g === g.toLowerCase() || /^[A-Z]$/.test(g)),
            `${r.id}: ${g}`,
          );
        }
      }
      if (cat === "mc") {
        const options = humans[0]!.split("\n").filter((l) => /^[A-D]\. /.test(l));
        assert.ok(humans[0]!.endsWith(`\n${LETTER_PROMPT}`));
        assert.ok(options.length >= 2);
        assert.ok("ABCD".slice(0, options.length).includes(gpts[0]!), `${r.id}: answer ${gpts[0]}`);
      }
      if (cat === "pope") {
        const present = presentCategories(s);
        humans.forEach((h, i) => {
          const m = /^(?:<image>\n)?Is there an? (.+) in the image\?/.exec(h);
          assert.ok(m, h);
          assert.equal(gpts[i], present.includes(m[1]!) ? "yes" : "no");
        });
        assert.equal(new Set(humans.map((h) => h.replace("<image>\n", ""))).size, humans.length);
      }
      if (cat === "detail") assert.ok(gpts[0]!.split(". ").length >= 2);
    }
  }
  for (const c of RECORD_CATEGORIES) assert.ok((seen.get(c) ?? 0) > 20, `${c}: ${seen.get(c)}`);
});

test("conversations open with a question in the share asked for, and nothing else changes", () => {
  const file = (s: (typeof scenes)[number]) => `train/x${s.id}.png`;
  let withConv = 0;
  let questionFirst = 0;
  for (const s of scenes) {
    const plain = sceneRecords(s, file(s), stats);
    // 0 is the default: the same records, every conversation opening with a caption.
    assert.deepEqual(sceneRecords(s, file(s), stats, { convQuestionFirst: 0 }), plain);
    if (plain.conv) {
      const opening = plain.conv.conversations[0]!.value.replace("<image>\n", "");
      assert.ok(CONV_OPENINGS.includes(opening), `${plain.conv.id}: ${opening}`);
    }
    const half = sceneRecords(s, file(s), stats, { convQuestionFirst: 0.5 });
    for (const c of RECORD_CATEGORIES) if (c !== "conv") assert.deepEqual(half[c], plain[c], `${s.id} ${c}`);
    if (!half.conv || !plain.conv) continue;
    withConv++;
    const turns = half.conv.conversations;
    const first = turns[0]!.value.replace("<image>\n", "");
    if (CONV_OPENINGS.includes(first)) {
      // The same questions after it (the opening's wording is drawn after the coin, so it may differ).
      assert.deepEqual(turns.slice(2), plain.conv.conversations.slice(2));
      continue;
    }
    questionFirst++;
    // The caption's turn dropped: the record's questions, each answered in a sentence, the first after the image.
    assert.deepEqual(
      turns,
      plain.conv.conversations.slice(2).map((t, i) => (i === 0 ? { ...t, value: `<image>\n${t.value}` } : t)),
    );
    assert.ok(
      !first.includes(SHORT_PROMPT) && /\.$/.test(turns[1]!.value),
      `${half.conv.id}: ${turns[1]!.value}`,
    );
  }
  assert.ok(withConv > 200);
  assert.ok(
    questionFirst > 0.4 * withConv && questionFirst < 0.6 * withConv,
    `${questionFirst} of ${withConv}`,
  );
  for (const s of scenes) {
    const all = sceneRecords(s, file(s), stats, { convQuestionFirst: 1 }).conv;
    if (all) assert.ok(!CONV_OPENINGS.includes(all.conversations[0]!.value.replace("<image>\n", "")), all.id);
  }
});

test("a short-answer record names the boxes of what its first question asks about", () => {
  let colour = 0;
  let counted = 0;
  for (const s of scenes.filter((x) => x.kind === "shapes")) {
    const vqa = sceneRecords(s, "x.png", stats).vqa;
    if (!vqa) continue;
    const boxes = vqa.named_boxes;
    const [q, a] = [vqa.conversations[0]!.value, vqa.conversations[1]!.value];
    const colourQ = /^<image>\nWhat color is the (\w+)\?/.exec(q);
    const countQ = /^<image>\nHow many (\w+) (\w+) are/.exec(q);
    if (colourQ) {
      // The one box is an object of the answered colour, and that object's own box.
      assert.equal(boxes?.length, 1, q);
      const [x0, y0, x1, y1] = boxes![0]!;
      const o = s.objects.find((o) => o.color === a && Math.abs((x0 + x1) / 2 - o.x / s.width) < 1e-9);
      assert.ok(o && Math.abs((y0 + y1) / 2 - o.y / s.height) < 1e-9, `${q} → ${a}: ${boxes}`);
      colour++;
    } else if (countQ && boxes) {
      assert.equal(boxes.length, Number(a), `${q} → ${a}: ${boxes.length} boxes`);
      counted++;
    }
    for (const b of boxes ?? []) assert.ok(b[0] < b[2] && b[1] < b[3] && b.every((v) => v >= 0 && v <= 1));
  }
  assert.ok(colour > 5 && counted > 5, `${colour} colour, ${counted} count questions checked`);
});
