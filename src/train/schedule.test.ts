// Learning-rate schedules as transformers' get_cosine/linear/constant_schedule_with_warmup, and the batch plan.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BatchPlan } from "./batches.js";
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
  test("fractional epochs and max_steps", () => {
    assert.equal(new BatchPlan(10, 4, 0, 0.5, null).totalSteps, 2);
    assert.equal(new BatchPlan(10, 4, 0, 1, 7).totalSteps, 7);
    assert.equal(new BatchPlan(10, 4, 0, 1, 7).batch(6).length, 4, "max_steps runs on into the next epoch");
  });
});
