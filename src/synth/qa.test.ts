// Every answer is derivable: an independent reader parses each generated question's wording, finds what it
// names in the scene graph (which must be exactly one thing) and computes the answer from geometry and
// values; it must agree with the generator for every family, and every question must parse. Also checks
// multiple-choice construction.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../util/random.js";
import { makeMc } from "./mc.js";
import { COLOR_NAMES } from "./palette.js";
import { boundCountQ, type Qa, SHAPES_FAMILIES } from "./qa.js";
import { CHART_FAMILIES } from "./qa-chart.js";
import { numberLookalikes, TEXT_FAMILIES } from "./qa-text.js";
import type { Scene, ShapeObject, Sign } from "./scene.js";
import { SHAPE_NAMES, SHAPE_PLURALS } from "./shapes.js";
import { makeScene, splitSeeds } from "./world.js";

const COLORS = COLOR_NAMES as readonly string[];
const SHAPES = SHAPE_NAMES as readonly string[];
const PLURAL_TO = new Map(Object.entries(SHAPE_PLURALS).map(([s, p]) => [p, s]));

/** The objects an English noun phrase ("small red star", "red shape", "circles") describes. */
function described(objs: readonly ShapeObject[], phrase: string): ShapeObject[] {
  let size: string | undefined;
  let color: string | undefined;
  let shape: string | undefined;
  for (const w of phrase.split(" ")) {
    if (w === "small" || w === "large") size = w;
    else if (COLORS.includes(w)) color = w;
    else if (SHAPES.includes(w)) shape = w;
    else if (PLURAL_TO.has(w)) shape = PLURAL_TO.get(w);
    else if (w !== "shape" && w !== "shapes") throw new Error(`unknown word "${w}" in "${phrase}"`);
  }
  return objs.filter(
    (o) => (!size || o.size === size) && (!color || o.color === color) && (!shape || o.shape === shape),
  );
}

function one(objs: readonly ShapeObject[], phrase: string): ShapeObject {
  const m = described(objs, phrase);
  if (m.length !== 1) throw new Error(`"${phrase}" names ${m.length} objects`);
  return m[0]!;
}

function regionOf(x: number, y: number, size: number): string {
  const col = Math.floor((3 * x) / size);
  const row = Math.floor((3 * y) / size);
  const names = [
    ["top left", "top", "top right"],
    ["left", "center", "right"],
    ["bottom left", "bottom", "bottom right"],
  ];
  return names[row]![col]!;
}

const yn = (b: boolean) => (b ? "yes" : "no");

function deriveShapes(s: Scene, q: string): string {
  const o = s.objects;
  let m: RegExpExecArray | null;
  if ((m = /^(?:What color is the|What is the color of the|Which color does the) (.+?)(?: have)?\?$/.exec(q)))
    return one(o, m[1]!).color;
  if ((m = /^What (?:shape|kind of shape) is the (.+)\?$/.exec(q))) return one(o, m[1]!).shape;
  if ((m = /^How many (.+) are (?:there|in the image)\?$/.exec(q))) return String(described(o, m[1]!).length);
  if ((m = /^How many shapes are (?:there|in the image)\?$/.exec(q))) return String(o.length);
  if ((m = /^Is the (.+) to the left or to the right of the (.+)\?$/.exec(q))) {
    const dx = one(o, m[1]!).x - one(o, m[2]!).x;
    assert.ok(Math.abs(dx) >= 16, `${q}: centres only ${dx} px apart`);
    return dx < 0 ? "left" : "right";
  }
  if ((m = /^Is the (.+) above or below the (.+)\?$/.exec(q))) {
    const dy = one(o, m[1]!).y - one(o, m[2]!).y;
    assert.ok(Math.abs(dy) >= 16, `${q}: centres only ${dy} px apart`);
    return dy < 0 ? "above" : "below";
  }
  if ((m = /^Is the (.+) (to the left of|to the right of|above|below) the (.+)\?$/.exec(q))) {
    const a = one(o, m[1]!);
    const b = one(o, m[3]!);
    const rel = m[2]!;
    const d = rel.includes("left") || rel.includes("right") ? a.x - b.x : a.y - b.y;
    assert.ok(Math.abs(d) >= 16, `${q}: only ${d} px apart`);
    return yn(rel.includes("left") || rel === "above" ? d < 0 : d > 0);
  }
  if ((m = /^(?:Where in the image|In which part of the image) is the (.+)\?$/.exec(q))) {
    const a = one(o, m[1]!);
    for (const t of [s.width / 3, (2 * s.width) / 3]) {
      assert.ok(Math.abs(a.x - t) >= 6 && Math.abs(a.y - t) >= 6, `${q}: too near a third line`);
    }
    return regionOf(a.x, a.y, s.width);
  }
  if ((m = /^(?:Is the (.+) small or large|What size is the (.+))\?$/.exec(q)))
    return one(o, m[1] ?? m[2]!).size;
  if ((m = /^Are there more (\w+) than (\w+)\?$/.exec(q))) {
    return yn(described(o, m[1]!).length > described(o, m[2]!).length);
  }
  if ((m = /^Is there an? (.+) in the image\?$/.exec(q))) return yn(described(o, m[1]!).length > 0);
  if ((m = /^Is the (.+) (\w+)\?$/.exec(q)) && COLORS.includes(m[2]!))
    return yn(one(o, m[1]!).color === m[2]);
  throw new Error(`no reader for "${q}"`);
}

function sign(s: Scene, q: string): Sign {
  let m: RegExpExecArray | null;
  if ((m = /the (\w+) sign(?: say)?\?$/.exec(q)) && COLORS.includes(m[1]!)) {
    const g = s.signs.filter((x) => x.color === m![1]);
    assert.equal(g.length, 1);
    return g[0]!;
  }
  if ((m = /the (top|bottom|left|right) sign(?: say)?\?$/.exec(q))) {
    const side = m[1]!;
    const g = s.signs.filter((a) =>
      s.signs.every(
        (b) =>
          a === b ||
          (side === "top"
            ? a.y + a.h <= b.y
            : side === "bottom"
              ? b.y + b.h <= a.y
              : side === "left"
                ? a.x + a.w <= b.x
                : b.x + b.w <= a.x),
      ),
    );
    assert.equal(g.length, 1, q);
    return g[0]!;
  }
  if (/ the sign(?: say)?\?$/.test(q)) {
    assert.equal(s.signs.length, 1);
    return s.signs[0]!;
  }
  throw new Error(`no sign in "${q}"`);
}

function deriveText(s: Scene, q: string): string {
  let m: RegExpExecArray | null;
  if (
    (m = /^(?:What|Which) (letter|number) is (?:on|written on) the (.+)\?$/.exec(q)) &&
    !q.endsWith("sign?")
  ) {
    return one(s.objects, m[2]!).label!;
  }
  if ((m = /^What color is the sign with (?:the number (\d+)|the word "(\w+)")\?$/.exec(q))) {
    const g = s.signs.filter((x) => x.text.toLowerCase() === (m![1] ?? m![2]));
    assert.equal(g.length, 1);
    return g[0]!.color;
  }
  if (q === "How many signs are there?") return String(s.signs.length);
  if (/^What (is written|does|word is|number is)/.test(q)) return sign(s, q).text.toLowerCase();
  throw new Error(`no reader for "${q}"`);
}

function deriveChart(s: Scene, q: string): string {
  const c = s.chart!;
  const v = (l: string) => {
    const i = c.labels.indexOf(l);
    assert.ok(i >= 0, `${q}: no label ${l}`);
    return c.values[i]!;
  };
  let m: RegExpExecArray | null;
  if ((m = /^(?:What percentage (?:of the pie )?is|What is the value of) (\w+)\?$/.exec(q)))
    return String(v(m[1]!));
  if ((m = /^What value does the (\w+) bar show\?$/.exec(q))) return String(v(m[1]!));
  if (/largest|highest|longest/.test(q) && !q.includes(","))
    return c.labels[c.values.indexOf(Math.max(...c.values))]!;
  if (/smallest|lowest|shortest/.test(q)) return c.labels[c.values.indexOf(Math.min(...c.values))]!;
  if ((m = /^Is the value of (\w+) greater than the value of (\w+)\?$/.exec(q)))
    return yn(v(m[1]!) > v(m[2]!));
  if ((m = /^Which is larger, (\w+) or (\w+)\?$/.exec(q))) return v(m[1]!) > v(m[2]!) ? m[1]! : m[2]!;
  if ((m = /^What is the difference between the values of (\w+) and (\w+)\?$/.exec(q))) {
    return String(Math.abs(v(m[1]!) - v(m[2]!)));
  }
  if (/^How many (bars|slices)/.test(q)) return String(c.labels.length);
  if ((m = /^What color is the (\w+) (?:bar|slice)\?$/.exec(q))) return c.colors[c.labels.indexOf(m[1]!)]!;
  throw new Error(`no reader for "${q}"`);
}

function derive(s: Scene, q: string): string {
  return s.kind === "shapes" ? deriveShapes(s, q) : s.kind === "text" ? deriveText(s, q) : deriveChart(s, q);
}

const scenes = splitSeeds("val", 600).map((s) => makeScene(s));

function allQuestions(fn: (s: Scene, qa: Qa) => void): Map<string, number> {
  const seen = new Map<string, number>();
  for (const s of scenes) {
    const families =
      s.kind === "shapes" ? SHAPES_FAMILIES : s.kind === "text" ? TEXT_FAMILIES : CHART_FAMILIES;
    const rng = new Rng(s.id);
    for (const f of families) {
      for (let k = 0; k < 4; k++) {
        const qa = f.make(s, rng);
        if (!qa) continue;
        seen.set(qa.family, (seen.get(qa.family) ?? 0) + 1);
        fn(s, qa);
      }
    }
  }
  return seen;
}

test("every question's answer can be re-derived from the scene graph", () => {
  const seen = allQuestions((s, qa) => {
    assert.equal(derive(s, qa.question), qa.answer, `scene ${s.id}: ${qa.question}`);
    if (qa.family !== "label") assert.equal(qa.answer, qa.answer.toLowerCase());
    assert.ok(qa.pool.includes(qa.answer), `${qa.question}: answer ${qa.answer} not in its pool`);
    if (qa.answerType === "yes/no") assert.ok(qa.answer === "yes" || qa.answer === "no");
    if (qa.answerType === "number") assert.match(qa.answer, /^\d+$/);
  });
  // Every family shows up.
  for (const f of [...SHAPES_FAMILIES, ...TEXT_FAMILIES, ...CHART_FAMILIES]) {
    const names =
      f.name === "chart-extreme"
        ? ["chart-max", "chart-min"]
        : f.name === "chart-compare"
          ? ["chart-compare", "chart-compare-yn"]
          : [f.name];
    for (const n of names) assert.ok((seen.get(n) ?? 0) > 5, `family ${n} seen ${seen.get(n) ?? 0} times`);
  }
});

test("yes/no families are balanced enough and counts stay small", () => {
  const tally = new Map<string, { yes: number; all: number }>();
  allQuestions((_, qa) => {
    if (qa.answerType === "yes/no") {
      const t = tally.get(qa.family) ?? { yes: 0, all: 0 };
      t.all++;
      if (qa.answer === "yes") t.yes++;
      tally.set(qa.family, t);
    }
    if (qa.family === "count") assert.ok(Number(qa.answer) <= 6);
  });
  for (const [f, t] of tally)
    assert.ok(t.yes / t.all > 0.3 && t.yes / t.all < 0.7, `${f}: ${t.yes}/${t.all} yes`);
});

test("colour-and-shape counts: both attributes named, answers re-derived, absent pairs share an attribute", () => {
  let zeros = 0;
  let all = 0;
  for (const s of scenes) {
    if (s.kind !== "shapes") continue;
    const rng = new Rng(s.id);
    for (let k = 0; k < 3; k++) {
      const qa = boundCountQ(s, rng)!;
      const m = /^How many (\w+) (\w+) are (?:there|in the image)\?$/.exec(qa.question);
      assert.ok(m && COLORS.includes(m[1]!) && PLURAL_TO.has(m[2]!), qa.question);
      assert.equal(derive(s, qa.question), qa.answer, `scene ${s.id}: ${qa.question}`);
      all++;
      if (qa.answer !== "0") continue;
      zeros++;
      const [color, shape] = [m[1]!, PLURAL_TO.get(m[2]!)!];
      assert.ok(
        s.objects.some((o) => o.color === color || o.shape === shape),
        `${qa.question}: nothing shared`,
      );
    }
  }
  // A third are drawn absent (a few scenes have no near miss left).
  assert.ok(zeros / all > 0.25 && zeros / all < 0.4, `${zeros}/${all} zeros`);
});

test("multiple choice: distinct options, the answer among them, 2–4 of them", () => {
  allQuestions((s, qa) => {
    const mc = makeMc(qa, new Rng(s.id + 7));
    assert.equal(mc.options[mc.answer], qa.answer);
    assert.equal(new Set(mc.options).size, mc.options.length);
    assert.ok(mc.options.length >= 2 && mc.options.length <= 4, qa.question);
    if (qa.pool.length >= 4) assert.equal(mc.options.length, 4);
  });
  assert.deepEqual(numberLookalikes("42").includes("24"), true);
  assert.ok(numberLookalikes("105").every((n) => n.length === 3 && n !== "105" && n[0] !== "0"));
});
