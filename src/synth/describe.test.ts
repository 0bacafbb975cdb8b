// shapeCaption, read back by an independent parser: every shape kind of the scene with its count, nothing else,
// and no colour word (the point of the text: only outlines can match it).
import assert from "node:assert/strict";
import { test } from "node:test";
import { shapeCaption } from "./describe.js";
import { COLOR_NAMES } from "./palette.js";
import { SHAPE_NAMES, SHAPE_PLURALS } from "./shapes.js";
import { makeScene, splitSeeds } from "./world.js";

const NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];

function readBack(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const body = text.replace(/\.$/, "").toLowerCase();
  for (const part of body.split(/, | and /)) {
    const [count, noun] = part.split(" ") as [string, string];
    const n = count === "a" || count === "an" ? 1 : NUMBERS.indexOf(count);
    const shape = SHAPE_NAMES.find((s) => s === noun || SHAPE_PLURALS[s] === noun);
    assert.ok(n > 0 && shape, `cannot read "${part}" in "${text}"`);
    assert.equal(out.has(shape), false, `${shape} named twice in "${text}"`);
    out.set(shape, n);
  }
  return out;
}

test("shapeCaption names each shape kind with its count and no colours", () => {
  let checked = 0;
  for (const seed of splitSeeds("train", 400)) {
    const scene = makeScene(seed);
    if (scene.kind !== "shapes") continue;
    const text = shapeCaption(scene);
    for (const c of COLOR_NAMES) assert.ok(!new RegExp(`\\b${c}\\b`, "i").test(text), `colour in "${text}"`);
    const want = new Map<string, number>();
    for (const o of scene.objects) want.set(o.shape, (want.get(o.shape) ?? 0) + 1);
    assert.deepEqual(readBack(text), want, text);
    checked++;
  }
  assert.ok(checked > 100, `only ${checked} shape scenes`);
});
