/**
 * Captions (short, LLaVA-Pretrain-like) and detailed descriptions (several sentences, ShareGPT-4V-like) of a
 * scene, worded from its graph with a few templates chosen by the seed: every statement is true of the image.
 */
import type { Rng } from "../util/random.js";
import { article, be, capitalize, countedPhrase, joinAnd, numberWord } from "./language.js";
import { refer } from "./refer.js";
import { pick } from "./sampling.js";
import { regionOf, regionPhrase, type Scene, type ShapeObject, type Sign } from "./scene.js";
import { SHAPE_NAMES } from "./shapes.js";

/** Objects grouped by colour and shape, in reading order of first appearance. */
function groups(objects: readonly ShapeObject[]): { o: ShapeObject; n: number }[] {
  const sorted = [...objects].sort((a, b) => Math.floor(a.y / 24) - Math.floor(b.y / 24) || a.x - b.x);
  const out: { o: ShapeObject; n: number }[] = [];
  for (const o of sorted) {
    const g = out.find((x) => x.o.color === o.color && x.o.shape === o.shape);
    if (g) g.n++;
    else out.push({ o, n: 1 });
  }
  return out;
}

function byReading<T extends { x: number; y: number }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => Math.floor(a.y / 24) - Math.floor(b.y / 24) || a.x - b.x);
}

const signCentre = (s: Sign) => ({ x: s.x + s.w / 2, y: s.y + s.h / 2 });

function signPhrase(s: Sign): string {
  return s.kind === "number"
    ? `${article(s.color)} ${s.color} sign with the number ${s.text}`
    : `${article(s.color)} ${s.color} sign that says "${s.text}"`;
}

function labelPhrase(o: ShapeObject): string {
  const what = /[0-9]/.test(o.label!) ? "number" : "letter";
  return `${article(o.color)} ${o.color} ${o.shape} with the ${what} ${o.label}`;
}

function chartKind(scene: Scene): string {
  const t = scene.chart!.type;
  return t === "bar" ? "bar chart" : t === "hbar" ? "horizontal bar chart" : "pie chart";
}

/** A one-sentence caption. */
export function caption(scene: Scene, rng: Rng): string {
  const bg = scene.background;
  if (scene.kind === "chart") {
    const c = scene.chart!;
    const kind = chartKind(scene);
    const unit = c.type === "pie" ? "slices" : "bars";
    return pick(rng, [
      `${capitalize(article(kind))} ${kind} of ${joinAnd(c.labels)}.`,
      `${capitalize(article(kind))} ${kind} with ${numberWord(c.labels.length)} ${unit}: ${joinAnd(c.labels)}.`,
    ]);
  }
  const items =
    scene.kind === "text"
      ? [
          ...byReading(scene.signs.map((s) => ({ ...signCentre(s), p: signPhrase(s) }))),
          ...byReading(scene.objects).map((o) => ({ p: labelPhrase(o) })),
        ].map((x) => x.p)
      : groups(scene.objects).map((g) => countedPhrase(g.n, g.o.shape, g.o.color));
  const list = joinAnd(items);
  return pick(rng, [
    `${capitalize(list)} on ${article(bg)} ${bg} background.`,
    `${capitalize(article(bg))} ${bg} background with ${list}.`,
    `${capitalize(list)}.`,
    `An image of ${list}.`,
  ]);
}

/**
 * The objects by shape alone, no colours ("Two stars and a circle."): a contrastive-pretraining text that only
 * the outlines can match, since colour alone tells most scenes apart and a tower trained on full captions learns
 * colour first and shape barely at all.
 */
export function shapeCaption(scene: Scene): string {
  const counts = new Map<ShapeObject["shape"], number>();
  for (const o of byReading(scene.objects)) counts.set(o.shape, (counts.get(o.shape) ?? 0) + 1);
  return `${capitalize(joinAnd([...counts].map(([shape, n]) => countedPhrase(n, shape))))}.`;
}

function describeShapes(scene: Scene, rng: Rng): string[] {
  const objs = scene.objects;
  const n = objs.length;
  const bg = scene.background;
  const out: string[] = [
    pick(rng, [
      `The image shows ${numberWord(n)} ${n === 1 ? "shape" : "shapes"} on ${article(bg)} ${bg} background.`,
      `There ${be(n)} ${numberWord(n)} ${n === 1 ? "shape" : "shapes"} on ${article(bg)} ${bg} background in this image.`,
    ]),
  ];
  const style = rng.int(2);
  for (const o of byReading(objs)) {
    const where = regionPhrase(regionOf(o.x, o.y, scene.width)!);
    const what = `${o.size} ${o.color} ${o.shape}`;
    out.push(
      style === 0
        ? `${capitalize(where)} there is ${article(what)} ${what}.`
        : `${capitalize(article(what))} ${what} is ${where}.`,
    );
  }
  objs.forEach((o, i) => {
    const ref = refer(objs, i);
    if (o.visible < 1 && ref) out.push(`The ${ref.phrase} is partly covered by another shape.`);
  });
  if (n > 1) {
    const counts = SHAPE_NAMES.map((s) => ({ s, k: objs.filter((o) => o.shape === s).length })).filter(
      (x) => x.k > 0,
    );
    out.push(
      `In total, the image has ${joinAnd(counts.map((x) => countedPhrase(x.k, x.s).replace(/^an? /, "one ")))}.`,
    );
  }
  return out;
}

function describeText(scene: Scene, rng: Rng): string[] {
  const bg = scene.background;
  const k = scene.signs.length;
  const out = [
    pick(rng, [
      `The image shows ${numberWord(k)} ${k === 1 ? "sign" : "signs"} on ${article(bg)} ${bg} background.`,
      `There ${be(k)} ${numberWord(k)} ${k === 1 ? "sign" : "signs"} in this image, on ${article(bg)} ${bg} background.`,
    ]),
  ];
  for (const s of byReading(scene.signs.map((s) => ({ ...signCentre(s), s })))) {
    const where = regionPhrase(regionOf(s.x, s.y, scene.width)!);
    const t = s.s;
    const how =
      t.kind === "number"
        ? ""
        : t.text === t.text.toUpperCase()
          ? " in capital letters"
          : t.text === t.text.toLowerCase()
            ? " in small letters"
            : " with a capital first letter";
    out.push(`${capitalize(where)} there is ${signPhrase(t)}${how}.`);
  }
  for (const o of byReading(scene.objects)) {
    const where = regionPhrase(regionOf(o.x, o.y, scene.width)!);
    out.push(`${capitalize(where)} there is ${labelPhrase(o)} on it.`);
  }
  return out;
}

function describeChart(scene: Scene): string[] {
  const c = scene.chart!;
  const n = c.labels.length;
  const kind = chartKind(scene);
  const out = [
    `This is ${article(kind)} ${kind} with ${numberWord(n)} ${c.type === "pie" ? "slices" : "bars"} on ${article(scene.background)} ${scene.background} background.`,
  ];
  const maxI = c.values.indexOf(Math.max(...c.values));
  const minI = c.values.indexOf(Math.min(...c.values));
  if (c.type === "pie") {
    out.push(`A legend below the pie lists each category with its share.`);
    out.push(`${capitalize(joinAnd(c.labels.map((l, i) => `${l} is ${c.values[i]}% (${c.colors[i]})`)))}.`);
    out.push(
      `The largest slice is ${c.labels[maxI]} with ${c.values[maxI]}%, and the smallest is ${c.labels[minI]} with ${c.values[minI]}%.`,
    );
    return out;
  }
  const order = c.type === "bar" ? "From left to right" : "From top to bottom";
  out.push(`${order}, the bars are ${joinAnd(c.labels.map((l, i) => `${l} with ${c.values[i]}`))}.`);
  const uniform = c.colors.every((x) => x === c.colors[0]);
  out.push(
    uniform
      ? `All the bars are ${c.colors[0]}.`
      : `${capitalize(joinAnd(c.labels.map((l, i) => `the ${l} bar is ${c.colors[i]}`)))}.`,
  );
  out.push(
    `The highest value is ${c.values[maxI]} for ${c.labels[maxI]}, and the lowest is ${c.values[minI]} for ${c.labels[minI]}.`,
  );
  return out;
}

/** A detailed description: several sentences covering everything in the scene. */
export function describe(scene: Scene, rng: Rng): string {
  const s =
    scene.kind === "shapes"
      ? describeShapes(scene, rng)
      : scene.kind === "text"
        ? describeText(scene, rng)
        : describeChart(scene);
  return s.join(" ");
}
