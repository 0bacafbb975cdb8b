// Learning-rate schedules as transformers' get_cosine/linear/constant_schedule_with_warmup, and the batch plan.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BatchPlan, modalityLengths } from "./batches.js";
import type { Turn } from "./records.js";
import { makeSchedule, warmupSteps } from "./schedule.js";

describe("schedule", () => {
  test("cosine with warmup: 0 at step 0, peak after warmup, half way at the middle, 0 at the end", () => {
    const s = makeSchedule("cosine", 100, 0.03);
    assert.equal(s.warmup, 3);
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => s.factor(i)),
      [0, 1 / 3, 2 / 3, 1],
    );
    assert.ok(Math.abs(s.factor(3 + 97 / 2) - 0.5) < 1e-12);
    assert.equal(s.factor(100), 0);
    // transformers: 0.5 * (1 + cos(pi * (10 - 3) / 97))
    assert.equal(s.factor(10), 0.5 * (1 + Math.cos((Math.PI * 7) / 97)));
  });
  test("linear and constant; warmup rounds up as TrainingArguments.get_warmup_steps", () => {
    assert.equal(warmupSteps(10, 0.03), 1);
    assert.equal(warmupSteps(2180, 0.03), 66);
    const l = makeSchedule("linear", 10, 0.1);
    assert.deepEqual(
      [0, 1, 4, 10].map((i) => l.factor(i)),
      [0, 1, 6 / 9, 0],
    );
    const c = makeSchedule("constant", 10, 0);
    assert.deepEqual(
      [0, 5, 9].map((i) => c.factor(i)),
      [1, 1, 1],
    );
  });
});

describe("batch plan", () => {
  test("each epoch is a permutation cut into global batches; the last batch may be short", () => {
    const p = new BatchPlan(10, 4, 7, 2, null);
    assert.equal(p.stepsPerEpoch, 3);
    assert.equal(p.totalSteps, 6);
    for (const e of [0, 1]) {
      const seen = [0, 1, 2].flatMap((b) => p.batch(e * 3 + b));
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        [...Array(10).keys()],
      );
      assert.equal(p.batch(e * 3 + 2).length, 2);
    }
    assert.notDeepEqual(p.order(0), p.order(1), "reshuffled every epoch");
    assert.deepEqual(new BatchPlan(10, 4, 7, 2, null).batch(4), p.batch(4), "a pure function of the step");
    assert.notDeepEqual(new BatchPlan(10, 4, 8, 2, null).order(0), p.order(0), "seeded");
  });
  test("modality lengths count words as Python's str.split(), + 700 with an image, negative without", () => {
    const turns = (...values: string[]): Turn[] =>
      values.map((value, i) => ({ from: i % 2 === 0 ? "human" : "gpt", value }));
    assert.deepEqual(
      modalityLengths([
        { image: "a.png", conversations: turns("<image>\nWhat is it?", "A cat."), where: "d.json:1" },
        { image: null, conversations: turns("  two\twords\n", "x\x1cy"), where: "d.json:2" },
      ]),
      [6 + 700, -4],
    );
    assert.throws(
      () => modalityLengths([{ image: null, conversations: turns(" ", ""), where: "d.json:3" }]),
      /d\.json:3: a text-only record without a word/,
    );
  });

  test("grouped by modality (Imp's sampler): one modality per batch, the two last ones interleaved at the end", () => {
    // 10 image examples (ids 0–9) and 7 text-only ones (10–16), global batch 4: 2 full image batches and 1 full
    // text batch in shuffled order, then the 2 left-over image and 3 left-over text examples interleaved.
    const lengths = [...Array(17).keys()].map((i) => (i < 10 ? 700 + ((i * 7) % 5) : -1 - ((i * 3) % 4)));
    const p = new BatchPlan(17, 4, 5, 3, null, lengths);
    assert.equal(p.stepsPerEpoch, 5);
    const isImage = (i: number) => lengths[i]! > 0;
    const kinds = new Set<string>();
    for (const e of [0, 1, 2]) {
      const batches = [0, 1, 2, 3, 4].map((b) => p.batch(e * 5 + b));
      assert.deepEqual(
        batches.flat().sort((a, b) => a - b),
        [...Array(17).keys()],
        "each epoch is a permutation",
      );
      for (const b of batches.slice(0, 3)) {
        assert.equal(b.length, 4);
        assert.ok(b.every(isImage) || !b.some(isImage), `batch ${b} mixes modalities`);
        const l = b.map((i) => Math.abs(lengths[i]!));
        assert.deepEqual(
          l,
          [...l].sort((x, y) => y - x),
          "longest first",
        );
      }
      kinds.add(
        batches
          .slice(0, 3)
          .map((b) => (isImage(b[0]!) ? "I" : "T"))
          .join(""),
      );
      const tail = [...batches[3]!, ...batches[4]!];
      assert.deepEqual(tail.map((i) => (isImage(i) ? "I" : "T")).join(""), "ITITT");
    }
    assert.ok(kinds.size > 1, "the full batches are shuffled across modalities");
    assert.deepEqual(
      new BatchPlan(17, 4, 5, 3, null, lengths).batch(7),
      p.batch(7),
      "a pure function of the step",
    );
    // One modality: the plain shuffle's batches, each sorted longest first.
    const text = [...Array(10).keys()].map((i) => -1 - i);
    const g = new BatchPlan(10, 4, 7, 1, null, text);
    const plain = new BatchPlan(10, 4, 7, 1, null);
    for (const b of [0, 1, 2])
      assert.deepEqual(
        g.batch(b),
        [...plain.batch(b)].sort((x, y) => y - x),
        "same examples per step, longest (highest id) first",
      );
  });

  test("fractional epochs and max_steps", () => {
    assert.equal(new BatchPlan(10, 4, 0, 0.5, null).totalSteps, 2);
    assert.equal(new BatchPlan(10, 4, 0, 1, 7).totalSteps, 7);
    assert.equal(new BatchPlan(10, 4, 0, 1, 7).batch(6).length, 4, "max_steps runs on into the next epoch");
  });
});
