/**
 * The check sets, each a question kind of the built-in model's targets asked about shapes drawn by ./draw.ts:
 * the colour and the shape of a lone shape, the colour of a named shape among two to four, how many shapes (1–5),
 * how many of one kind (1–4, among others), and whether a colour-and-shape pair is there (POPE adversarial: the
 * absent pairs share a colour or a shape with one that is there). The words are the world's (its ten colours, its
 * eight shapes, the questions' phrasing); the pixels are not.
 */
import type { Rgb } from "../../src/io/image/index.js";
import { COLOR_NAMES, COLORS, type ColorName } from "../../src/synth/palette.js";
import { sample as distinct, intIn as int, pick } from "../../src/synth/sampling.js";
import { SHAPE_NAMES, SHAPE_PLURALS } from "../../src/synth/shapes.js";
import { Rng } from "../../src/util/random.js";
import type { DrawnShape, DrawSpec } from "./draw.js";

export const CHECK_SETS = [
  "lone colour",
  "lone shape",
  "named colour",
  "count shapes",
  "count one kind",
  "exists (adversarial)",
] as const;
export type CheckSet = (typeof CHECK_SETS)[number];

export interface CheckItem {
  set: CheckSet;
  id: string;
  question: string;
  answer: string;
  spec: DrawSpec;
}

/** Plain backgrounds the world never uses (its own: white, light gray, beige). */
const BACKGROUNDS: readonly Rgb[] = [
  [250, 250, 244],
  [236, 242, 250],
  [242, 236, 246],
  [232, 232, 226],
  [246, 250, 238],
];

interface Obj {
  shape: string;
  color: string;
}

const jitter = (rng: Rng, c: Rgb): Rgb =>
  c.map((v) => Math.max(0, Math.min(255, v + Math.round(rng.float() * 30 - 15)))) as unknown as Rgb;

/** Places the objects anywhere in the image, none overlapping, each of its own size (a new draw until all fit). */
function layout(rng: Rng, objects: readonly Obj[]): DrawSpec {
  for (;;) {
    const side = pick(rng, [128, 160, 192]);
    const placed: DrawnShape[] = [];
    for (const o of objects) {
      for (let tries = 0; tries < 200; tries++) {
        const r = side * (0.08 + rng.float() * 0.09);
        const cx = r + 2 + rng.float() * (side - 2 * r - 4);
        const cy = r + 2 + rng.float() * (side - 2 * r - 4);
        if (placed.every((p) => Math.hypot(p.cx - cx, p.cy - cy) > p.r + r + 3)) {
          placed.push({ shape: o.shape, color: jitter(rng, COLORS[o.color as ColorName]), cx, cy, r });
          break;
        }
      }
    }
    if (placed.length === objects.length)
      return { side, background: pick(rng, BACKGROUNDS), shapes: placed, outline: rng.float() < 0.5 };
  }
}

function make(set: CheckSet, rng: Rng): { objects: Obj[]; question: string; answer: string } {
  const color = () => pick(rng, COLOR_NAMES);
  switch (set) {
    case "lone colour": {
      const o = { shape: pick(rng, SHAPE_NAMES), color: color() };
      return { objects: [o], question: `What color is the ${o.shape}?`, answer: o.color };
    }
    case "lone shape": {
      const o = { shape: pick(rng, SHAPE_NAMES), color: color() };
      return { objects: [o], question: `What shape is the ${o.color} shape?`, answer: o.shape };
    }
    case "named colour": {
      const objects = distinct(rng, SHAPE_NAMES, int(rng, 2, 4)).map((shape) => ({ shape, color: color() }));
      const o = pick(rng, objects);
      return { objects, question: `What color is the ${o.shape}?`, answer: o.color };
    }
    case "count shapes": {
      const n = int(rng, 1, 5);
      const objects = Array.from({ length: n }, () => ({ shape: pick(rng, SHAPE_NAMES), color: color() }));
      return { objects, question: "How many shapes are there?", answer: String(n) };
    }
    case "count one kind": {
      const [kind, ...others] = distinct(rng, SHAPE_NAMES, 3);
      const k = int(rng, 1, 4);
      const objects = [
        ...Array.from({ length: k }, () => ({ shape: kind!, color: color() })),
        ...Array.from({ length: int(rng, 0, 2) }, () => ({ shape: pick(rng, others), color: color() })),
      ];
      return { objects, question: `How many ${SHAPE_PLURALS[kind!]} are there?`, answer: String(k) };
    }
    case "exists (adversarial)": {
      const shapes = distinct(rng, SHAPE_NAMES, int(rng, 2, 4));
      const objects = shapes.map((shape) => ({ shape, color: color() }));
      const there = (c: string, s: string) => objects.some((o) => o.color === c && o.shape === s);
      let asked: Obj;
      if (rng.float() < 0.5) asked = pick(rng, objects);
      else {
        // Absent, but sharing a colour or a shape with one that is there.
        const near: Obj[] = [];
        for (const o of objects) {
          for (const c of COLOR_NAMES) if (!there(c, o.shape)) near.push({ shape: o.shape, color: c });
          for (const s of SHAPE_NAMES) if (!there(o.color, s)) near.push({ shape: s, color: o.color });
        }
        asked = pick(rng, near);
      }
      const article = /^[aeiou]/.test(asked.color) ? "an" : "a";
      return {
        objects,
        question: `Is there ${article} ${asked.color} ${asked.shape} in the image?`,
        answer: there(asked.color, asked.shape) ? "yes" : "no",
      };
    }
  }
}

/** `perSet` items of each set, the same for a seed. */
export function checkItems(perSet: number, seed: number): CheckItem[] {
  const out: CheckItem[] = [];
  CHECK_SETS.forEach((set, s) => {
    const rng = new Rng(seed * 7919 + s);
    for (let i = 0; i < perSet; i++) {
      const { objects, question, answer } = make(set, rng);
      out.push({ set, id: `${s}-${i}`, question, answer, spec: layout(rng, objects) });
    }
  });
  return out;
}
