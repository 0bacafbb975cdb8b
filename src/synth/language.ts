/**
 * Small English helpers for the world's generated text: number words, articles, lists, capitals, and the noun
 * phrases that name shapes ("a small red circle", "two blue stars").
 */
import type { ColorName } from "./palette.js";
import type { SizeName } from "./scene.js";
import { SHAPE_PLURALS, type ShapeName } from "./shapes.js";

const NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];

/** "two" for 2; digits past ten. */
export function numberWord(n: number): string {
  return NUMBER_WORDS[n] ?? String(n);
}

/** "a" or "an" before a word. */
export function article(word: string): string {
  return /^[aeiou]/i.test(word) ? "an" : "a";
}

/** "x", "x and y", "x, y and z". */
export function joinAnd(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? "";
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

export function capitalize(s: string): string {
  return s.length === 0 ? s : s[0]!.toUpperCase() + s.slice(1);
}

/** The noun of a shape, singular or plural by count. */
export function shapeNoun(shape: ShapeName, n = 1): string {
  return n === 1 ? shape : SHAPE_PLURALS[shape];
}

/** "a red circle", "three red circles", "a large blue star". */
export function countedPhrase(
  n: number,
  shape: ShapeName,
  color?: ColorName | null,
  size?: SizeName | null,
): string {
  const words = [size, color, shapeNoun(shape, n)].filter((w): w is string => !!w).join(" ");
  return n === 1 ? `${article(words)} ${words}` : `${numberWord(n)} ${words}`;
}

/** "is" / "are" for a count. */
export function be(n: number): string {
  return n === 1 ? "is" : "are";
}
