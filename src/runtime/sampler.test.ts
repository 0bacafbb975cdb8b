/** Sampling rules: greedy ties, repetition penalty, top-k/top-p truncation, seeded reproducibility. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { argmax, Sampler } from "./sampler.js";
import { StopStringFilter } from "./stop.js";

describe("sampler", () => {
  test("greedy takes the first maximum", () => {
    assert.equal(argmax([1, 3, 3, 2]), 1);
    assert.equal(new Sampler().sample(Float32Array.from([0, 5, 5]), []), 1);
  });

  test("repetition penalty divides positive and multiplies negative logits of seen tokens (HF)", () => {
    const l = Float32Array.from([2, -2, 1.9]);
    const t = new Sampler({ repetitionPenalty: 2 }).sample(l, [0, 1]);
    assert.deepEqual(Array.from(l), [1, -4, Math.fround(1.9)]);
    assert.equal(t, 2);
  });

  test("top-k 1 and top-p tiny are greedy; a seed reproduces a sequence", () => {
    const logits = () => Float32Array.from([0.1, 2, 1.5, -1, 0.3]);
    for (let s = 0; s < 20; s++) {
      assert.equal(new Sampler({ temperature: 1, topK: 1, seed: s }).sample(logits(), []), 1);
      assert.equal(new Sampler({ temperature: 1, topP: 0.01, seed: s }).sample(logits(), []), 1);
    }
    const draw = (seed: number) => {
      const sm = new Sampler({ temperature: 1.5, seed });
      return Array.from({ length: 30 }, () => sm.sample(logits(), []));
    };
    assert.deepEqual(draw(7), draw(7));
    assert.notDeepEqual(draw(7), draw(8));
    assert.ok(new Set(draw(7)).size > 1, "sampling at temperature 1.5 varies");
  });

  test("top-k restricts the draw to the k best", () => {
    const sm = new Sampler({ temperature: 5, topK: 2, seed: 1 });
    for (let i = 0; i < 200; i++)
      assert.ok([1, 2].includes(sm.sample(Float32Array.from([0.1, 2, 1.5, -1, 0.3]), [])));
  });

  test("bad values are refused by name", () => {
    assert.throws(() => new Sampler({ temperature: -1 }), /temperature must be ≥ 0/);
    assert.throws(() => new Sampler({ topP: 0 }), /top_p must be in \(0, 1\]/);
    assert.throws(() => new Sampler({ topK: 1.5 }), /top_k must be an integer/);
  });
});

describe("stop strings in a stream", () => {
  test("text that may start a stop string is held back; the stop and what follows are dropped", () => {
    const f = new StopStringFilter(["</s>", "<|im_end|>"]);
    assert.equal(f.push("Hello <"), "Hello ");
    assert.equal(f.push("/"), "");
    assert.equal(f.push("b>"), "</b>");
    assert.equal(f.push(" ok</s> more"), " ok");
    assert.ok(f.done);
    assert.equal(f.push("x"), "");
    assert.equal(f.flush(), "");
  });
  test("held-back text comes out at the end", () => {
    const f = new StopStringFilter(["</s>"]);
    assert.equal(f.push("a</"), "a");
    assert.equal(f.flush(), "</");
  });
});
