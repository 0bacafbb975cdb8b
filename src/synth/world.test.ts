// Splits are disjoint seed ranges, so train, validation, test and corpus never share a scene; a scene is a
// function of its seed alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { imageName, makeScene, SPLIT_RANGES, SPLITS, splitOf, splitSeeds } from "./world.js";

test("split ranges do not overlap and seeds stay in their split", () => {
  const ranges = SPLITS.map((s) => SPLIT_RANGES[s]);
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const a = ranges[i]!;
      const b = ranges[j]!;
      assert.ok(
        a.start + a.size <= b.start || b.start + b.size <= a.start,
        `${SPLITS[i]} overlaps ${SPLITS[j]}`,
      );
    }
  }
  for (const s of SPLITS) {
    for (const seed of splitSeeds(s, 50)) assert.equal(splitOf(seed), s);
    const last = SPLIT_RANGES[s].start + SPLIT_RANGES[s].size - 1;
    assert.equal(splitOf(last), s);
  }
  assert.throws(() => splitSeeds("val", SPLIT_RANGES.val.size + 1), /do not fit/);
  // Seeds fit in 32 bits (the Rng seeds with them) and image names in their 8 digits.
  const top = Math.max(...ranges.map((r) => r.start + r.size));
  assert.ok(top < 2 ** 31 && String(top - 1).length <= 8);
});

test("scenes of different splits differ, and image names are unique across splits", () => {
  const names = new Set<string>();
  const graphs = new Set<string>();
  for (const s of ["train", "val", "test"] as const) {
    for (const seed of splitSeeds(s, 200)) {
      names.add(imageName(seed));
      const g = makeScene(seed);
      const { id: _, ...rest } = g;
      graphs.add(JSON.stringify(rest));
    }
  }
  assert.equal(names.size, 600);
  assert.equal(graphs.size, 600);
});

test("a scene depends on its seed only", () => {
  const a = makeScene(123456);
  makeScene(7);
  assert.deepEqual(makeScene(123456), a);
});
