// The seeded generator: reproducible streams, and dropMask as the very draws float() would make.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "./random.js";

test("the same seed gives the same stream; state() resumes it", () => {
  const a = new Rng(7);
  const b = new Rng(7);
  for (let i = 0; i < 100; i++) assert.equal(a.nextU32(), b.nextU32());
  const saved = a.state();
  const next = [a.float(), a.normal(), a.int(10)];
  b.setState(saved);
  assert.deepEqual([b.float(), b.normal(), b.int(10)], next);
  assert.notEqual(new Rng(8).nextU32(), new Rng(7).nextU32());
});

test("dropMask makes the draws and outcomes of n float() calls and leaves the stream where they would", () => {
  for (const p of [0.05, 0.5, 0.9]) {
    const fast = new Rng(3);
    const slow = new Rng(3);
    const mask = fast.dropMask(10_001, p, 1 / (1 - p));
    let dropped = 0;
    for (let i = 0; i < mask.length; i++) {
      const expect = slow.float() < p ? 0 : Math.fround(1 / (1 - p));
      assert.equal(mask[i], expect, `element ${i} at p ${p}`);
      if (expect === 0) dropped++;
    }
    assert.ok(Math.abs(dropped / mask.length - p) < 0.02, `dropped ${dropped} of ${mask.length} at p ${p}`);
    assert.equal(fast.nextU32(), slow.nextU32());
  }
});
