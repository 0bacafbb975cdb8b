/**
 * Referring expressions and relations over a scene's shapes: the shortest description that picks out exactly
 * one shape ("the star", "the red star", "the small red star"), optionally without the attribute a question
 * asks about, and left/right/above/below between two shapes when their centres are clearly apart. A question
 * is only asked through these, so every question names one thing and has one answer.
 */
import type { ColorName } from "./palette.js";
import type { ShapeObject, SizeName } from "./scene.js";
import type { ShapeName } from "./shapes.js";

export interface Attrs {
  shape?: ShapeName;
  color?: ColorName;
  size?: SizeName;
}
export type Attr = keyof Attrs;

/** Centres closer than this (px) along an axis are not called left/right (above/below) of each other. */
export const RELATION_GAP = 16;

export function matches(o: ShapeObject, a: Attrs): boolean {
  return (
    (a.shape === undefined || o.shape === a.shape) &&
    (a.color === undefined || o.color === a.color) &&
    (a.size === undefined || o.size === a.size)
  );
}

export function countMatching(objects: readonly ShapeObject[], a: Attrs): number {
  let n = 0;
  for (const o of objects) if (matches(o, a)) n++;
  return n;
}

/** "small red star"; "red shape" when the shape is not named. */
export function attrsPhrase(a: Attrs): string {
  return [a.size, a.color, a.shape ?? "shape"].filter((w): w is string => !!w).join(" ");
}

const ORDERS: readonly (readonly Attr[])[] = [
  ["shape"],
  ["color", "shape"],
  ["size", "shape"],
  ["color"],
  ["size", "color", "shape"],
  ["size", "color"],
  ["size"],
];

export interface Reference {
  attrs: Attrs;
  /** Without the article: "red star". */
  phrase: string;
}

/** The shortest unique description of `objects[i]` that does not use `exclude`; null when none is unique. */
export function refer(objects: readonly ShapeObject[], i: number, exclude?: Attr): Reference | null {
  const o = objects[i]!;
  for (const order of ORDERS) {
    if (exclude !== undefined && order.includes(exclude)) continue;
    const a: Attrs = {};
    for (const k of order) (a as Record<Attr, string>)[k] = o[k];
    if (countMatching(objects, a) === 1) return { attrs: a, phrase: attrsPhrase(a) };
  }
  return null;
}

export type Horizontal = "left" | "right";
export type Vertical = "above" | "below";

/** Where `a` is relative to `b` left to right, or null when their centres are too close to say. */
export function horizontal(a: ShapeObject, b: ShapeObject): Horizontal | null {
  const dx = a.x - b.x;
  return Math.abs(dx) < RELATION_GAP ? null : dx < 0 ? "left" : "right";
}

/** Where `a` is relative to `b` top to bottom (image y grows downwards), or null when too close. */
export function vertical(a: ShapeObject, b: ShapeObject): Vertical | null {
  const dy = a.y - b.y;
  return Math.abs(dy) < RELATION_GAP ? null : dy < 0 ? "above" : "below";
}

/** Indices of shapes in reading order (top to bottom in bands of 24 px, then left to right). */
export function readingOrder(objects: readonly ShapeObject[]): number[] {
  return objects
    .map((_, i) => i)
    .sort((p, q) => {
      const a = objects[p]!;
      const b = objects[q]!;
      return Math.floor(a.y / 24) - Math.floor(b.y / 24) || a.x - b.x || p - q;
    });
}
