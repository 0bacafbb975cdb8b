/**
 * Near-duplicate scenes: a scene with one thing changed — a shape's colour or kind, a shape removed, a sign's
 * text or colour, a label character, two chart values or labels swapped. In contrastive pretraining a scene and
 * its variant sit in the same batch as hard negatives, so the vision tower must see exactly the details the
 * questions later ask about (counts, colours, shapes, words, values); random batches alone rarely force that.
 * Every variant keeps the world's rules (visibility ≥ 70%, same colours apart, sign colours distinct, chart values
 * distinct and pies summing to 100).
 */

import type { Rng } from "../util/random.js";
import { textWidth } from "./font.js";
import { COLOR_NAMES } from "./palette.js";
import { pick } from "./sampling.js";
import type { Scene, ShapeObject } from "./scene.js";
import { apart, visibleFractions } from "./scene-shapes.js";
import { SHAPE_NAMES } from "./shapes.js";
import { CHART_LABELS, LABEL_CHARS, SIGN_WORDS } from "./words.js";

function clone(s: Scene): Scene {
  return {
    ...s,
    objects: s.objects.map((o) => ({ ...o })),
    signs: s.signs.map((g) => ({ ...g })),
    chart: s.chart
      ? { ...s.chart, labels: [...s.chart.labels], values: [...s.chart.values], colors: [...s.chart.colors] }
      : null,
  };
}

/** The generator's rules after a change: same colours apart, all shapes ≥ 70% visible (stored on each shape). */
function validShapes(objects: ShapeObject[], size: number): boolean {
  // Positions do not change, so pairs of different colours still satisfy the generator's overlap rule.
  if (!objects.every((p, a) => objects.slice(a + 1).every((q) => apart(p, q, true)))) return false;
  const vis = visibleFractions(objects, size);
  if (!vis) return false;
  vis.forEach((v, i) => {
    objects[i]!.visible = v;
  });
  return true;
}

function shapesVariant(s: Scene, rng: Rng): Scene | null {
  const v = clone(s);
  const i = rng.int(v.objects.length);
  const o = v.objects[i]!;
  const op = rng.int(v.objects.length > 1 ? 3 : 2);
  if (op === 0)
    o.color = pick(
      rng,
      COLOR_NAMES.filter((c) => c !== o.color),
    );
  else if (op === 1)
    o.shape = pick(
      rng,
      SHAPE_NAMES.filter((c) => c !== o.shape),
    );
  else v.objects.splice(i, 1);
  return validShapes(v.objects, v.width) ? v : null;
}

function textVariant(s: Scene, rng: Rng): Scene | null {
  const v = clone(s);
  const labelled = v.objects.filter((o) => o.label !== null);
  const op = rng.int(labelled.length > 0 ? 3 : 2);
  if (op === 2) {
    const o = pick(rng, labelled);
    o.label = pick(
      rng,
      LABEL_CHARS.filter((c) => c !== o.label),
    );
    return v;
  }
  const g = pick(rng, v.signs);
  if (op === 1) {
    const used = new Set(v.signs.map((x) => x.color));
    const free = COLOR_NAMES.filter((c) => !used.has(c));
    if (free.length === 0) return null;
    g.color = pick(rng, free);
    return v;
  }
  // New text of the same drawn width, so the board keeps its size and place.
  const width = textWidth(g.text, g.scale);
  if (g.kind === "number") {
    const digits = g.text.length;
    const lo = digits === 1 ? 0 : 10 ** (digits - 1);
    const n = lo + rng.int(10 ** digits - lo);
    if (String(n) === g.text || textWidth(String(n), g.scale) !== width) return null;
    g.text = String(n);
    g.reading = g.text;
    return v;
  }
  const style =
    g.text === g.text.toUpperCase() ? "upper" : g.text[0] === g.text[0]!.toUpperCase() ? "title" : "lower";
  const cased = (w: string) =>
    style === "upper" ? w.toUpperCase() : style === "title" ? w[0]!.toUpperCase() + w.slice(1) : w;
  const options = SIGN_WORDS.filter((w) => w !== g.reading && textWidth(cased(w), g.scale) === width);
  if (options.length === 0) return null;
  const w = pick(rng, options);
  g.text = cased(w);
  g.reading = w;
  return v;
}

/** A new label, or (bars) a new value: changes that show in the words of a description, not only in its order. */
function chartVariant(s: Scene, rng: Rng): Scene | null {
  const v = clone(s);
  const c = v.chart!;
  const a = rng.int(c.values.length);
  if (c.type === "pie" || rng.int(2) === 0) {
    c.labels[a] = pick(
      rng,
      CHART_LABELS.filter((l) => !c.labels.includes(l)),
    );
    return v;
  }
  const value = 5 + rng.int(95);
  // Bar values stay distinct and at least 2 apart, as the generator makes them.
  if (c.values.some((x, i) => i !== a && Math.abs(x - value) < 2) || value === c.values[a]) return null;
  c.values[a] = value;
  return v;
}

/** A scene with one detail changed, or null when no valid change was found in a few tries. */
export function sceneVariant(scene: Scene, rng: Rng): Scene | null {
  for (let t = 0; t < 8; t++) {
    const v =
      scene.kind === "shapes"
        ? shapesVariant(scene, rng)
        : scene.kind === "text"
          ? textVariant(scene, rng)
          : chartVariant(scene, rng);
    if (v) return v;
  }
  return null;
}
