/**
 * Question families about shapes scenes (VQAv2/GQA-like): colour, shape, count, relation, position, size and
 * yes/no questions. Each family draws one question from a scene and returns its canonical short answer (what
 * VQA-style ground truth holds), a full-sentence answer (for conversations), the VQA answer type, and the pool
 * of answers of its kind (for multiple-choice distractors). A family returns null when the scene cannot
 * support an unambiguous question of its kind.
 */
import type { Rng } from "../util/random.js";
import { be, numberWord, shapeNoun } from "./language.js";
import { COLOR_NAMES, type ColorName } from "./palette.js";
import {
  type Attrs,
  attrsPhrase,
  countMatching,
  horizontal,
  type Reference,
  refer,
  vertical,
} from "./refer.js";
import { chance, pick } from "./sampling.js";
import { objectBox, REGIONS, regionOf, regionPhrase, type Scene } from "./scene.js";
import { SHAPE_NAMES, SHAPE_PLURALS, type ShapeName } from "./shapes.js";

export type AnswerType = "yes/no" | "number" | "other";

export interface Qa {
  /** Question family, e.g. "color", "count", "chart-value". */
  family: string;
  question: string;
  /** Canonical short answer: lower case, except a shape's label letter (upper case, as drawn). */
  answer: string;
  /** The answer as a full sentence. */
  long: string;
  answerType: AnswerType;
  /** VQA `question_type`: the question's opening words. */
  questionType: string;
  /** Every answer a question of this kind could have (the answer among them), for choices. */
  pool: readonly string[];
  /** Wrong answers that are tempting for this scene (e.g. colours that are present), tried first. */
  hard: readonly string[];
  /**
   * Indices in `scene.objects` of what the question names (the shape whose colour it asks, every object it
   * counts; none when it names something absent), for the records' `named_boxes`. Absent where a family does not
   * say.
   */
  named?: readonly number[];
}

export type Family = (scene: Scene, rng: Rng) => Qa | null;

/**
 * A record's `named_boxes` for a question about `scene`: the boxes of the objects it names (none when it names
 * something absent), or null when its family does not say which.
 */
export function namedBoxes(scene: Scene, qa: Qa): [number, number, number, number][] | null {
  return qa.named ? qa.named.map((i) => objectBox(scene, scene.objects[i]!)) : null;
}

export const YES_NO = ["yes", "no"] as const;
export const COUNT_POOL = ["0", "1", "2", "3", "4", "5", "6"] as const;

const indices = (n: number) => Array.from({ length: n }, (_, i) => i);

function referable(scene: Scene, exclude?: "color" | "shape" | "size"): { i: number; ref: Reference }[] {
  const out: { i: number; ref: Reference }[] = [];
  for (const i of indices(scene.objects.length)) {
    const ref = refer(scene.objects, i, exclude);
    if (ref) out.push({ i, ref });
  }
  return out;
}

const presentColors = (scene: Scene) => [...new Set(scene.objects.map((o) => o.color))];
const presentShapes = (scene: Scene) => [...new Set(scene.objects.map((o) => o.shape))];

export const colorQ: Family = (scene, rng) => {
  const c = referable(scene, "color");
  if (c.length === 0) return null;
  const { i, ref } = pick(rng, c);
  const color = scene.objects[i]!.color;
  const question = pick(rng, [
    `What color is the ${ref.phrase}?`,
    `What is the color of the ${ref.phrase}?`,
    `Which color does the ${ref.phrase} have?`,
  ]);
  return {
    family: "color",
    question,
    answer: color,
    long: `The ${ref.phrase} is ${color}.`,
    answerType: "other",
    questionType: question.startsWith("What color")
      ? "what color is the"
      : question.startsWith("What is")
        ? "what is the"
        : "which",
    pool: COLOR_NAMES,
    hard: presentColors(scene).filter((x) => x !== color),
    named: [i],
  };
};

export const shapeQ: Family = (scene, rng) => {
  const c = referable(scene, "shape");
  if (c.length === 0) return null;
  const { i, ref } = pick(rng, c);
  const shape = scene.objects[i]!.shape;
  const question = pick(rng, [
    `What shape is the ${ref.phrase}?`,
    `What kind of shape is the ${ref.phrase}?`,
  ]);
  return {
    family: "shape",
    question,
    answer: shape,
    long: `The ${ref.phrase} is a ${shape}.`,
    answerType: "other",
    questionType: question.startsWith("What shape") ? "what shape is the" : "what kind of",
    pool: SHAPE_NAMES,
    hard: presentShapes(scene).filter((x) => x !== shape),
    named: [i],
  };
};

/** Plural noun phrase of a count target: "circles", "red shapes", "red circles", "shapes". */
function countNoun(a: Attrs, n: number): string {
  const noun = a.shape ? shapeNoun(a.shape, n) : n === 1 ? "shape" : "shapes";
  return a.color ? `${a.color} ${noun}` : noun;
}

export const countQ: Family = (scene, rng) => {
  const objs = scene.objects;
  if (objs.length === 0) return null;
  const o = pick(rng, objs);
  const mode = pick(rng, ["shape", "shape", "color", "both", "both", "all"] as const);
  let a: Attrs =
    mode === "shape"
      ? { shape: o.shape }
      : mode === "color"
        ? { color: o.color }
        : mode === "both"
          ? { color: o.color, shape: o.shape }
          : {};
  // Sometimes ask about something absent: the answer 0 has to be learnt too.
  if (mode !== "all" && chance(rng, 0.1)) {
    const absent = SHAPE_NAMES.filter((s) => countMatching(objs, { ...a, shape: s }) === 0);
    if (absent.length > 0) a = { ...a, shape: pick(rng, absent) };
  }
  return countQa(scene, a, rng);
};

/**
 * A count question about one colour and one shape ("How many red circles are there?"), the binding the README's
 * main job asks for. A third of the time the pair is absent while its colour or its shape is present, so the
 * answer 0 cannot come from either attribute alone.
 */
export const boundCountQ: Family = (scene, rng) => {
  const objs = scene.objects;
  if (objs.length === 0) return null;
  const o = pick(rng, objs);
  let a: Attrs = { color: o.color, shape: o.shape };
  if (chance(rng, 1 / 3)) {
    const near: Attrs[] = [
      ...SHAPE_NAMES.map((shape) => ({ color: o.color, shape })),
      ...COLOR_NAMES.map((color) => ({ color, shape: o.shape })),
    ].filter((x) => countMatching(objs, x) === 0);
    if (near.length > 0) a = pick(rng, near);
  }
  return countQa(scene, a, rng);
};

/** The count question about `a` (no attribute: every shape) with its answers. */
function countQa(scene: Scene, a: Attrs, rng: Rng): Qa {
  const n = countMatching(scene.objects, a);
  const plural = countNoun(a, 2);
  const question =
    a.color === undefined && a.shape === undefined
      ? pick(rng, ["How many shapes are there?", "How many shapes are in the image?"])
      : pick(rng, [`How many ${plural} are there?`, `How many ${plural} are in the image?`]);
  const long = n === 0 ? `There are no ${plural}.` : `There ${be(n)} ${numberWord(n)} ${countNoun(a, n)}.`;
  return {
    family: "count",
    question,
    answer: String(n),
    long,
    answerType: "number",
    questionType: "how many",
    pool: COUNT_POOL,
    hard: [String(n + 1), String(Math.max(0, n - 1))].filter((x) => x !== String(n)),
    named: matchingIndices(scene, a),
  };
}

function pairs(scene: Scene): { a: number; b: number; ra: Reference; rb: Reference }[] {
  const refs = scene.objects.map((_, i) => refer(scene.objects, i));
  const out: { a: number; b: number; ra: Reference; rb: Reference }[] = [];
  for (let a = 0; a < refs.length; a++) {
    for (let b = 0; b < refs.length; b++) {
      if (a !== b && refs[a] && refs[b]) out.push({ a, b, ra: refs[a]!, rb: refs[b]! });
    }
  }
  return out;
}

export const relationQ: Family = (scene, rng) => {
  const axis = chance(rng, 0.5) ? "h" : "v";
  const cands = pairs(scene).filter(({ a, b }) =>
    axis === "h"
      ? horizontal(scene.objects[a]!, scene.objects[b]!) !== null
      : vertical(scene.objects[a]!, scene.objects[b]!) !== null,
  );
  if (cands.length === 0) return null;
  const { a, b, ra, rb } = pick(rng, cands);
  const A = scene.objects[a]!;
  const B = scene.objects[b]!;
  if (axis === "h") {
    const rel = horizontal(A, B)!;
    const question = `Is the ${ra.phrase} to the left or to the right of the ${rb.phrase}?`;
    return {
      family: "relation",
      question,
      answer: rel,
      long: `The ${ra.phrase} is to the ${rel} of the ${rb.phrase}.`,
      answerType: "other",
      questionType: "is the",
      pool: ["left", "right"],
      hard: [],
    };
  }
  const rel = vertical(A, B)!;
  return {
    family: "relation",
    question: `Is the ${ra.phrase} above or below the ${rb.phrase}?`,
    answer: rel,
    long: `The ${ra.phrase} is ${rel} the ${rb.phrase}.`,
    answerType: "other",
    questionType: "is the",
    pool: ["above", "below"],
    hard: [],
  };
};

/** GQA-style verify: "Is the red circle to the left of the star?" */
export const relationYesNoQ: Family = (scene, rng) => {
  const cands = pairs(scene).filter(
    ({ a, b }) =>
      horizontal(scene.objects[a]!, scene.objects[b]!) !== null ||
      vertical(scene.objects[a]!, scene.objects[b]!) !== null,
  );
  if (cands.length === 0) return null;
  const { a, b, ra, rb } = pick(rng, cands);
  const A = scene.objects[a]!;
  const B = scene.objects[b]!;
  const h = horizontal(A, B);
  const v = vertical(A, B);
  const useH = h !== null && (v === null || chance(rng, 0.5));
  const truth = useH ? h! : v!;
  const other = { left: "right", right: "left", above: "below", below: "above" }[truth];
  const asked = chance(rng, 0.5) ? truth : other;
  const phrase = (r: string) => (r === "left" || r === "right" ? `to the ${r} of` : r);
  const yes = asked === truth;
  return {
    family: "relation-yn",
    question: `Is the ${ra.phrase} ${phrase(asked)} the ${rb.phrase}?`,
    answer: yes ? "yes" : "no",
    long: yes
      ? `Yes, the ${ra.phrase} is ${phrase(truth)} the ${rb.phrase}.`
      : `No, the ${ra.phrase} is ${phrase(truth)} the ${rb.phrase}.`,
    answerType: "yes/no",
    questionType: "is the",
    pool: YES_NO,
    hard: [],
  };
};

/** Margin (px) around the third lines inside which a position question is not asked. */
export const REGION_MARGIN = 6;

export const positionQ: Family = (scene, rng) => {
  const cands = referable(scene).filter(
    ({ i }) => regionOf(scene.objects[i]!.x, scene.objects[i]!.y, scene.width, REGION_MARGIN) !== null,
  );
  if (cands.length === 0) return null;
  const { i, ref } = pick(rng, cands);
  const o = scene.objects[i]!;
  const region = regionOf(o.x, o.y, scene.width, REGION_MARGIN)!;
  const question = pick(rng, [
    `Where in the image is the ${ref.phrase}?`,
    `In which part of the image is the ${ref.phrase}?`,
  ]);
  return {
    family: "position",
    question,
    answer: region,
    long: `The ${ref.phrase} is ${regionPhrase(region)} of the image.`,
    answerType: "other",
    questionType: question.startsWith("Where") ? "where is the" : "in which",
    pool: REGIONS,
    hard: REGIONS.filter((r) => r !== region && (r.includes(region) || region.includes(r))),
  };
};

export const sizeQ: Family = (scene, rng) => {
  const c = referable(scene, "size");
  if (c.length === 0) return null;
  const { i, ref } = pick(rng, c);
  const size = scene.objects[i]!.size;
  const question = pick(rng, [`Is the ${ref.phrase} small or large?`, `What size is the ${ref.phrase}?`]);
  return {
    family: "size",
    question,
    answer: size,
    long: `The ${ref.phrase} is ${size}.`,
    answerType: "other",
    questionType: question.startsWith("Is") ? "is the" : "what size is",
    pool: ["small", "large"],
    hard: [],
  };
};

export const colorYesNoQ: Family = (scene, rng) => {
  const c = referable(scene, "color");
  if (c.length === 0) return null;
  const { i, ref } = pick(rng, c);
  const truth = scene.objects[i]!.color;
  const present = presentColors(scene).filter((x) => x !== truth);
  const asked: ColorName = chance(rng, 0.5)
    ? truth
    : present.length > 0 && chance(rng, 0.6)
      ? pick(rng, present)
      : pick(
          rng,
          COLOR_NAMES.filter((x) => x !== truth),
        );
  const yes = asked === truth;
  return {
    family: "color-yn",
    question: `Is the ${ref.phrase} ${asked}?`,
    answer: yes ? "yes" : "no",
    long: yes ? `Yes, the ${ref.phrase} is ${truth}.` : `No, the ${ref.phrase} is ${truth}, not ${asked}.`,
    answerType: "yes/no",
    questionType: "is the",
    pool: YES_NO,
    hard: [],
  };
};

export const compareCountQ: Family = (scene, rng) => {
  const shapes = presentShapes(scene);
  if (shapes.length === 0) return null;
  const s1 = pick(rng, shapes);
  const others = SHAPE_NAMES.filter((s) => s !== s1);
  const presentOthers = shapes.filter((s) => s !== s1);
  const s2 = pick(rng, presentOthers.length > 0 && chance(rng, 0.7) ? presentOthers : others);
  const n1 = countMatching(scene.objects, { shape: s1 });
  const n2 = countMatching(scene.objects, { shape: s2 });
  if (n1 === n2 || s1 === s2) return null;
  const [p, q] = chance(rng, 0.5) ? [s1, s2] : [s2, s1];
  const np = p === s1 ? n1 : n2;
  const nq = p === s1 ? n2 : n1;
  const yes = np > nq;
  const say = (n: number, s: ShapeName) =>
    n === 0 ? `no ${SHAPE_PLURALS[s]}` : `${numberWord(n)} ${shapeNoun(s, n)}`;
  return {
    family: "compare-count",
    question: `Are there more ${SHAPE_PLURALS[p]} than ${SHAPE_PLURALS[q]}?`,
    answer: yes ? "yes" : "no",
    long: `${yes ? "Yes" : "No"}, there ${be(np)} ${say(np, p)} and ${say(nq, q)}.`,
    answerType: "yes/no",
    questionType: "are there",
    pool: YES_NO,
    hard: [],
  };
};

export const existQ: Family = (scene, rng) => {
  const objs = scene.objects;
  if (objs.length === 0) return null;
  let a: Attrs;
  if (chance(rng, 0.5)) {
    const o = pick(rng, objs);
    a = { color: o.color, shape: o.shape };
  } else {
    // A near miss: a present colour with another shape, or a present shape in another colour.
    const o = pick(rng, objs);
    a = chance(rng, 0.5)
      ? { color: o.color, shape: pick(rng, SHAPE_NAMES) }
      : { color: pick(rng, COLOR_NAMES), shape: o.shape };
  }
  const n = countMatching(objs, a);
  const phrase = attrsPhrase(a);
  const art = /^[aeiou]/.test(phrase) ? "an" : "a";
  return {
    family: "exist",
    question: `Is there ${art} ${phrase} in the image?`,
    answer: n > 0 ? "yes" : "no",
    long: n > 0 ? `Yes, there ${be(n)} ${numberWord(n)} ${countNoun(a, n)}.` : `No, there is no ${phrase}.`,
    answerType: "yes/no",
    questionType: "is there a",
    pool: YES_NO,
    hard: [],
    named: matchingIndices(scene, a),
  };
};

/** Indices of the scene's objects with attributes `a`. */
function matchingIndices(scene: Scene, a: Attrs): number[] {
  return indices(scene.objects.length).filter((i) => countMatching([scene.objects[i]!], a) === 1);
}

/** The short-answer families of shapes scenes, with their weights in the mix. */
export const SHAPES_FAMILIES: readonly { name: string; make: Family; weight: number }[] = [
  { name: "color", make: colorQ, weight: 3 },
  { name: "shape", make: shapeQ, weight: 2 },
  { name: "count", make: countQ, weight: 3 },
  { name: "relation", make: relationQ, weight: 2 },
  { name: "relation-yn", make: relationYesNoQ, weight: 1 },
  { name: "position", make: positionQ, weight: 1 },
  { name: "size", make: sizeQ, weight: 1 },
  { name: "color-yn", make: colorYesNoQ, weight: 1 },
  { name: "compare-count", make: compareCountQ, weight: 1 },
  { name: "exist", make: existQ, weight: 1 },
];

/** Up to `k` questions of distinct families, drawn by weight. */
export function drawQuestions(
  scene: Scene,
  rng: Rng,
  families: readonly { name: string; make: Family; weight: number }[],
  k: number,
): Qa[] {
  const left = [...families];
  const out: Qa[] = [];
  const seen = new Set<string>();
  while (out.length < k && left.length > 0) {
    let total = 0;
    for (const f of left) total += f.weight;
    let u = rng.float() * total;
    let j = 0;
    for (; j < left.length - 1; j++) {
      u -= left[j]!.weight;
      if (u < 0) break;
    }
    const [f] = left.splice(j, 1);
    const qa = f!.make(scene, rng);
    if (qa && !seen.has(qa.question)) {
      seen.add(qa.question);
      out.push(qa);
    }
  }
  return out;
}
