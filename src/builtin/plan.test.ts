/** A plan file's look phases are checked before hours of training depend on them. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../util/errors.js";
import { checkLookPhases, checkRehearse, checkTrainMode, FULL_PLAN, SHORT_PLAN } from "./plan.js";

test("the shipped plans' look phases pass the check unchanged", () => {
  assert.deepEqual(checkLookPhases(SHORT_PLAN.look, "look"), SHORT_PLAN.look);
  assert.deepEqual(checkLookPhases(FULL_PLAN.look, "look"), []);
});

test("a look phase given the old way, as one object, is refused with the file and field named", () => {
  const one = { steps: 5, batch: 2, counts: 0, scenes: "single", imageTokenLoss: 0 };
  assert.throws(
    () => checkLookPhases(one, "over.json: look"),
    (e: unknown) =>
      e instanceof UsageError && /^over\.json: look: expected a list of look phases/.test(e.message),
  );
});

test("each field of a phase is checked and named with its index", () => {
  const good = { steps: 5, batch: 2, counts: 0, scenes: "several", imageTokenLoss: 4 };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...good, steps: 0 }, /look\[1\]\.steps: expected a positive integer, got 0/],
    [{ ...good, batch: 2.5 }, /look\[1\]\.batch: expected a positive integer, got 2\.5/],
    [{ ...good, scenes: "many" }, /look\[1\]\.scenes: expected "single" or "several", got "many"/],
    [{ ...good, imageTokenLoss: -1 }, /look\[1\]\.imageTokenLoss: expected a number ≥ 0, got -1/],
    [{ ...good, counts: undefined }, /look\[1\]\.counts: expected a number ≥ 0, got undefined/],
    [{ ...good, lr: 0 }, /look\[1\]\.lr: expected a positive number, got 0/],
    [{ ...good, imageTokenLayer: -1 }, /look\[1\]\.imageTokenLayer: expected a layer index ≥ 0, got -1/],
    [{ ...good, maxObjects: 0 }, /look\[1\]\.maxObjects: expected a positive integer, got 0/],
    [{ ...good, train: "connector" }, /look\[1\]\.train: expected "lora" or "full", got "connector"/],
    [{ ...good, schedule: "linear" }, /look\[1\]\.schedule: expected "cosine" or "constant", got "linear"/],
    [{ ...good, mix: "all" }, /look\[1\]\.mix: expected a number ≥ 0, got "all"/],
    [
      { ...good, escape: 400 },
      /look\[1\]\.escape: expected \{"by": steps, "below": term, "tries": n\}, got 400/,
    ],
    [
      { ...good, escape: { by: 2, below: 0.02, tries: 0 } },
      /look\[1\]\.escape\.tries: expected a positive integer, got 0/,
    ],
    [
      { ...good, escape: { by: 2, below: 0, tries: 2 } },
      /look\[1\]\.escape\.below: expected a dense term > 0, got 0/,
    ],
    [
      { ...good, escape: { by: 5, below: 0.02, tries: 2 } },
      /look\[1\]\.escape\.by: 5 is not before the phase's last step \(5\)/,
    ],
    [
      { ...good, imageTokenLoss: 0, escape: { by: 2, below: 0.02, tries: 2 } },
      /look\[1\]\.escape: judges the dense term, so the phase needs imageTokenLoss > 0/,
    ],
  ];
  assert.equal(checkLookPhases([{ ...good, schedule: "constant" }], "look")[0]!.schedule, "constant");
  assert.equal(checkLookPhases([{ ...good, imageTokenLayer: 1 }], "look")[0]!.imageTokenLayer, 1);
  for (const [bad, message] of cases)
    assert.throws(
      () => checkLookPhases([good, bad], "look"),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
    );
});

test("stage 2's train is checked as a look phase's is, the file named", () => {
  assert.equal(checkTrainMode(undefined, "stage2"), undefined);
  assert.equal(checkTrainMode("full", "stage2"), "full");
  assert.throws(
    () => checkTrainMode("adapters", "over.json: stage2"),
    (e: unknown) =>
      e instanceof UsageError &&
      /^over\.json: stage2\.train: expected "lora" or "full", got "adapters"/.test(e.message),
  );
});

test("stage 2's rehearse is a weight ≥ 0, above 0 only after a look phase", () => {
  assert.equal(checkRehearse(undefined, 0, "stage2"), undefined);
  assert.equal(checkRehearse(0.5, 2, "stage2"), 0.5);
  assert.equal(checkRehearse(0, 0, "stage2"), 0);
  assert.throws(
    () => checkRehearse(-1, 2, "over.json: stage2"),
    (e: unknown) =>
      e instanceof UsageError &&
      /^over\.json: stage2\.rehearse: expected a number ≥ 0, got -1/.test(e.message),
  );
  assert.throws(
    () => checkRehearse(1, 0, "over.json: stage2"),
    (e: unknown) =>
      e instanceof UsageError &&
      /^over\.json: stage2\.rehearse: 1 needs a look phase.*has none/.test(e.message),
  );
});
