import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  pyFloatRepr,
  pyJsonDumps,
  pyLower,
  pyReadLines,
  pyRound,
  pyRstrip,
  pySplit,
  pyStrip,
  pyTruthy,
} from "./python-compat.js";

describe("python-compat", () => {
  it("round: exact binary value; ties half-even (Python 3) or away from zero (Python 2)", () => {
    assert.equal(pyRound(2.675, 2), 2.67); // the double is 2.67499999...
    assert.equal(pyRound(0.125, 2), 0.12);
    assert.equal(pyRound(0.125, 2, "away"), 0.13);
    assert.equal(pyRound(0.375, 2), 0.38);
    assert.equal(pyRound(-0.125, 2, "away"), -0.13);
    assert.equal(pyRound(65.0, 2), 65);
    assert.equal(pyRound(66.66666666666667, 2), 66.67);
    assert.equal(pyRound(12.345, 2), 12.35); // 12.3450000000000006394884621841
    assert.equal(pyRound(2.5, 0), 2);
    assert.equal(pyRound(2.5, 0, "away"), 3);
    assert.equal(pyRound(1e-320, 2), 0);
  });

  it("split/strip use Python's whitespace, not JavaScript's", () => {
    assert.deepEqual(pySplit("  a\tb\u001fc\u0085d  "), ["a", "b", "c", "d"]);
    assert.deepEqual(pySplit("a\ufeffb"), ["a\ufeffb"]); // BOM is \s in JS, not whitespace in Python
    assert.deepEqual(pySplit("a\u180eb"), ["a\u180eb"]);
    assert.deepEqual(pySplit("a\u180eb", true), ["a", "b"]); // Unicode 5.2 (Python 2.7)
    assert.equal(pyStrip("\u001c x \u3000"), "x");
    assert.equal(pyStrip("\ufeffx"), "\ufeffx");
    assert.equal(pyRstrip("yes...", "."), "yes");
    assert.equal(pyRstrip("..", "."), "");
  });

  it("lower: Python 2 maps code points one by one with the simple mapping", () => {
    assert.equal(pyLower("İ"), "i̇");
    assert.equal(pyLower("İ", true), "i");
    assert.equal(pyLower("ΟΔΟΣ"), "οδος".slice(0, 3) + "ς");
    assert.equal(pyLower("ΟΔΟΣ", true), "οδοσ");
  });

  it("repr(float)", () => {
    assert.equal(pyFloatRepr(3), "3.0");
    assert.equal(pyFloatRepr(-0), "-0.0");
    assert.equal(pyFloatRepr(0.1), "0.1");
    assert.equal(pyFloatRepr(1e-5), "1e-05");
    assert.equal(pyFloatRepr(0.0001), "0.0001");
    assert.equal(pyFloatRepr(1e16), "1e+16");
    assert.equal(pyFloatRepr(1234567890123456), "1234567890123456.0");
    assert.equal(pyFloatRepr(1.5e300), "1.5e+300");
    assert.equal(pyFloatRepr(Number.NaN), "nan");
    assert.equal(pyFloatRepr(Number.NEGATIVE_INFINITY), "-inf");
  });

  it("readlines: universal newlines, line ends kept", () => {
    assert.deepEqual(pyReadLines("a\r\nb\rc\nd"), ["a\n", "b\n", "c\n", "d"]);
    assert.deepEqual(pyReadLines(""), []);
    assert.deepEqual(pyReadLines("x\n"), ["x\n"]);
  });

  it("json.dumps defaults: separators and ASCII escapes", () => {
    assert.equal(
      pyJsonDumps({ question_id: 1, prompt: 'é "q"\n', a: [1.5, null, true], m: {} }),
      '{"question_id": 1, "prompt": "\\u00e9 \\"q\\"\\n", "a": [1.5, null, true], "m": {}}',
    );
    assert.equal(pyJsonDumps("😀\u007f"), '"\\ud83d\\ude00\\u007f"');
  });

  it("truthiness as Python sees it", () => {
    assert.ok(!pyTruthy([]));
    assert.ok(!pyTruthy({}));
    assert.ok(pyTruthy("False"));
  });
});
