import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CONTRACTIONS,
  evalAiProcess,
  flattenWhitespace,
  processDigitArticle,
  processPunctuation,
  stripPeriods,
} from "./vqa-normalize.js";

describe("VQA answer normalisation", () => {
  it("punctuation touching a space is deleted, otherwise it becomes a space", () => {
    assert.equal(processPunctuation("red/blue", "py2"), "red blue");
    assert.equal(processPunctuation("red / blue", "py2"), "red  blue");
    assert.equal(processPunctuation("yes!", "py2"), "yes ");
    // The test is on the original text: one "?" next to a space deletes every "?".
    assert.equal(processPunctuation("a? b?c", "py2"), "a bc");
  });

  it("a digit-comma-digit anywhere deletes every listed mark", () => {
    assert.equal(processPunctuation("1,000 (approx)", "py2"), "1000 approx");
    assert.equal(processPunctuation("a,b", "py2"), "a b");
  });

  it("apostrophes and colons are kept (the 2021 list)", () => {
    assert.equal(processPunctuation("don't 10:30", "py2"), "don't 10:30");
  });

  it("periods go unless a digit follows, and only the first 32", () => {
    assert.equal(stripPeriods("3.5 m. e.g.", "py2"), "3.5 m eg");
    assert.equal(stripPeriods(".".repeat(40), "py2"), "........");
    // Python 2's \d is ASCII; Python 3's is any decimal digit.
    assert.equal(stripPeriods("x.٣", "py2"), "x٣");
    assert.equal(stripPeriods("x.٣", "py3"), "x.٣");
  });

  it("number words, articles, contractions", () => {
    assert.equal(processDigitArticle("Two Dogs", "py2"), "2 dogs");
    assert.equal(processDigitArticle("none of the above", "py2"), "0 of above");
    assert.equal(processDigitArticle("eleven", "py2"), "eleven");
    assert.equal(processDigitArticle("an apple a day", "py2"), "apple day");
    assert.equal(processDigitArticle("dont know", "py2"), "don't know");
    assert.equal(processDigitArticle("Im here", "py2"), "im here"); // capitalised keys never match
    assert.equal(processDigitArticle("somebody'd", "py2"), "somebodyd");
    assert.equal(CONTRACTIONS.wont, "won't");
  });

  it("newlines and tabs become spaces before stripping", () => {
    assert.equal(flattenWhitespace("\tyes\nno ", "py2"), "yes no");
  });

  it("EvalAI's processor (LLaVA's submission step)", () => {
    assert.equal(evalAiProcess("Three"), "3");
    assert.equal(evalAiProcess("An umbrella."), "umbrella");
    assert.equal(evalAiProcess("No."), "no");
    assert.equal(evalAiProcess("It's 1,000!"), "it 's 1000");
    assert.equal(evalAiProcess("What?"), "what");
    assert.equal(evalAiProcess("The poster shows a 10% discount."), "poster shows 10% discount");
    assert.equal(evalAiProcess("left-side"), "left side");
  });
});
