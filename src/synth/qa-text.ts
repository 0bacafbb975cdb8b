/**
 * Question families about text scenes (TextVQA-like): read the word or number on a sign named by its colour or
 * position, read the letter on a shape, name a sign's colour from its text, count signs. Answers are the text
 * in lower case (TextVQA's normalisation lower-cases both sides anyway).
 */
import { be, numberWord } from "./language.js";
import { COLOR_NAMES } from "./palette.js";
import { COUNT_POOL, type Family, type Qa } from "./qa.js";
import { refer } from "./refer.js";
import { pick } from "./sampling.js";
import type { Scene, Sign } from "./scene.js";
import { LABEL_CHARS, SIGN_WORDS } from "./words.js";

/** Numbers that look like `n`: one digit changed, or two neighbouring digits swapped (same length). */
export function numberLookalikes(n: string): string[] {
  const out = new Set<string>();
  for (let i = 0; i < n.length; i++) {
    for (let d = 0; d <= 9; d++) {
      const v = n.slice(0, i) + d + n.slice(i + 1);
      if (v !== n && !(v.length > 1 && v[0] === "0")) out.add(v);
    }
    if (i + 1 < n.length && n[i] !== n[i + 1] && n[i + 1] !== "0")
      out.add(n.slice(0, i) + n[i + 1] + n[i] + n.slice(i + 2));
  }
  return [...out];
}

function readingPool(s: Sign): readonly string[] {
  return s.kind === "word" ? SIGN_WORDS : [s.reading, ...numberLookalikes(s.reading)];
}

function readQa(scene: Scene, s: Sign, name: string, question: string, family: string): Qa {
  return {
    family,
    question,
    answer: s.reading,
    long: `The ${name} says "${s.text}".`,
    answerType: s.kind === "number" ? "number" : "other",
    questionType: question.split(" ").slice(0, 3).join(" ").toLowerCase(),
    pool: readingPool(s),
    hard: scene.signs.filter((o) => o !== s && o.kind === s.kind).map((o) => o.reading),
  };
}

export const signByColorQ: Family = (scene, rng) => {
  if (scene.signs.length === 0) return null;
  const s = pick(rng, scene.signs);
  const name = `${s.color} sign`;
  const question =
    s.kind === "number"
      ? pick(rng, [`What number is on the ${name}?`, `What number is written on the ${name}?`])
      : pick(rng, [
          `What is written on the ${name}?`,
          `What does the ${name} say?`,
          `What word is on the ${name}?`,
        ]);
  return readQa(scene, s, name, question, "sign-color");
};

export const singleSignQ: Family = (scene, rng) => {
  if (scene.signs.length !== 1) return null;
  const s = scene.signs[0]!;
  const question =
    s.kind === "number"
      ? pick(rng, ["What number is on the sign?", "What number is shown on the sign?"])
      : pick(rng, ["What does the sign say?", "What is written on the sign?", "What word is on the sign?"]);
  return readQa(scene, s, "sign", question, "sign-single");
};

/** The sign wholly above (left of, …) every other sign, if one is. */
function extreme(signs: readonly Sign[], side: "top" | "bottom" | "left" | "right"): Sign | null {
  for (const s of signs) {
    const ok = signs.every(
      (o) =>
        o === s ||
        (side === "top"
          ? s.y + s.h <= o.y
          : side === "bottom"
            ? o.y + o.h <= s.y
            : side === "left"
              ? s.x + s.w <= o.x
              : o.x + o.w <= s.x),
    );
    if (ok) return s;
  }
  return null;
}

export const signByPositionQ: Family = (scene, rng) => {
  if (scene.signs.length < 2) return null;
  const sides = (["top", "bottom", "left", "right"] as const).filter((d) => extreme(scene.signs, d) !== null);
  if (sides.length === 0) return null;
  const side = pick(rng, sides);
  const s = extreme(scene.signs, side)!;
  const name = `${side} sign`;
  const question =
    s.kind === "number"
      ? `What number is on the ${name}?`
      : pick(rng, [`What is written on the ${name}?`, `What does the ${name} say?`]);
  return readQa(scene, s, name, question, "sign-position");
};

export const labelQ: Family = (scene, rng) => {
  const cands = scene.objects
    .map((o, i) => ({ o, ref: refer(scene.objects, i) }))
    .filter((c) => c.o.label && c.ref);
  if (cands.length === 0) return null;
  const { o, ref } = pick(rng, cands);
  const label = o.label!;
  const digit = /[0-9]/.test(label);
  const what = digit ? "number" : "letter";
  return {
    family: "label",
    question: pick(rng, [
      `What ${what} is on the ${ref!.phrase}?`,
      `Which ${what} is written on the ${ref!.phrase}?`,
    ]),
    // As drawn: an upper-case letter (the scorers' normalisation ignores case).
    answer: label,
    long: `The ${what} ${label} is written on the ${ref!.phrase}.`,
    answerType: digit ? "number" : "other",
    questionType: `what ${what} is`,
    pool: LABEL_CHARS.filter((c) => /[0-9]/.test(c) === digit),
    hard: scene.objects.filter((x) => x !== o && x.label).map((x) => x.label!),
  };
};

export const signColorQ: Family = (scene, rng) => {
  if (scene.signs.length === 0) return null;
  const s = pick(rng, scene.signs);
  // Two signs could carry the same text; then "the sign that says X" names no single sign.
  if (scene.signs.some((o) => o !== s && o.reading === s.reading)) return null;
  const what = s.kind === "number" ? `the number ${s.reading}` : `the word "${s.reading}"`;
  return {
    family: "sign-colorof",
    question: `What color is the sign with ${what}?`,
    answer: s.color,
    long: `The sign with ${what} is ${s.color}.`,
    answerType: "other",
    questionType: "what color is the",
    pool: COLOR_NAMES,
    hard: scene.signs.filter((o) => o !== s).map((o) => o.color),
  };
};

export const countSignsQ: Family = (scene) => {
  const n = scene.signs.length;
  if (n === 0) return null;
  return {
    family: "sign-count",
    question: "How many signs are there?",
    answer: String(n),
    long: `There ${be(n)} ${numberWord(n)} ${n === 1 ? "sign" : "signs"}.`,
    answerType: "number",
    questionType: "how many",
    pool: COUNT_POOL,
    hard: [String(n + 1), String(n - 1)].filter((x) => x !== "0" || n === 1),
  };
};

/** Reading families (text scenes), with weights. */
export const TEXT_FAMILIES: readonly { name: string; make: Family; weight: number }[] = [
  { name: "sign-color", make: signByColorQ, weight: 4 },
  { name: "sign-single", make: singleSignQ, weight: 2 },
  { name: "sign-position", make: signByPositionQ, weight: 2 },
  { name: "label", make: labelQ, weight: 2 },
  { name: "sign-colorof", make: signColorQ, weight: 1 },
  { name: "sign-count", make: countSignsQ, weight: 0.5 },
];
