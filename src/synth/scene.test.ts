// Scene invariants over many seeds: shapes stay inside the image, keep ≥70% of their pixels visible and never
// touch a shape of their own colour; signs and labels fit and never overlap; chart values are distinct and
// pies add up; seeds map to kinds in the intended proportions.
import assert from "node:assert/strict";
import { test } from "node:test";
import { GLYPH_H, GLYPH_W } from "./font.js";
import { SAMPLES } from "./raster.js";
import { GRID_CELLS, GRID_SIZE_RANGE, IMAGE_SIZE } from "./scene.js";
import { MAX_OBJECTS, MIN_VISIBLE, visibility } from "./scene-shapes.js";
import { labelOrigin } from "./scene-text.js";
import { shapeMask } from "./shapes.js";
import { makeScene, sceneKind, splitSeeds } from "./world.js";

const seeds = splitSeeds("train", 1500);
const scenes = seeds.map((s) => makeScene(s));

test("seeds map to kinds in about the intended proportions", () => {
  const n = { shapes: 0, text: 0, chart: 0 };
  for (const s of seeds) n[sceneKind(s)]++;
  assert.ok(Math.abs(n.shapes / seeds.length - 0.55) < 0.05, JSON.stringify(n));
  assert.ok(Math.abs(n.text / seeds.length - 0.25) < 0.05, JSON.stringify(n));
  assert.ok(Math.abs(n.chart / seeds.length - 0.2) < 0.05, JSON.stringify(n));
});

test("shapes scenes: inside the image, visible enough, same colours apart", () => {
  let overlapping = 0;
  for (const s of scenes.filter((x) => x.kind === "shapes")) {
    assert.ok(s.objects.length >= 1 && s.objects.length <= MAX_OBJECTS);
    for (const o of s.objects) {
      assert.ok(
        o.x - o.r >= 0 && o.x + o.r < s.width && o.y - o.r >= 0 && o.y + o.r < s.height,
        `${s.id}: outside`,
      );
    }
    const vis = visibility(s.objects, s.width);
    vis.forEach((v, i) => {
      assert.ok(v >= MIN_VISIBLE, `${s.id}: object ${i} is ${v} visible`);
      assert.equal(s.objects[i]!.visible, Math.round(v * 1000) / 1000);
    });
    if (vis.some((v) => v < 1)) overlapping++;
    // Same-colour shapes: no pixel of one touches (8-neighbourhood) a pixel of the other.
    const masks = s.objects.map((o) => shapeMask(o.shape, o.x, o.y, o.r, s.width, s.height));
    for (let i = 0; i < masks.length; i++) {
      for (let j = i + 1; j < masks.length; j++) {
        if (s.objects[i]!.color !== s.objects[j]!.color) continue;
        const a = masks[i]!;
        const b = masks[j]!;
        for (let y = 0; y < a.h; y++) {
          for (let x = 0; x < a.w; x++) {
            if (a.cov[y * a.w + x] === 0) continue;
            for (let dy = -1; dy <= 1; dy++) {
              for (let dx = -1; dx <= 1; dx++) {
                const bx = a.x0 + x + dx - b.x0;
                const by = a.y0 + y + dy - b.y0;
                if (bx >= 0 && by >= 0 && bx < b.w && by < b.h) {
                  assert.equal(b.cov[by * b.w + bx], 0, `${s.id}: same-colour shapes ${i} and ${j} touch`);
                }
              }
            }
          }
        }
      }
    }
  }
  assert.ok(overlapping > 20, `only ${overlapping} scenes have overlaps`);
});

test("text scenes: signs and labelled shapes fit, do not overlap, and labels sit inside their shape", () => {
  for (const s of scenes.filter((x) => x.kind === "text")) {
    assert.ok(s.signs.length >= 1 && s.signs.length <= 3);
    assert.equal(new Set(s.signs.map((g) => g.color)).size, s.signs.length, `${s.id}: sign colours repeat`);
    const boxes = [
      ...s.signs.map((g) => ({ x: g.x, y: g.y, w: g.w, h: g.h })),
      ...s.objects.map((o) => ({ x: o.x - o.r - 1, y: o.y - o.r - 1, w: 2 * o.r + 3, h: 2 * o.r + 3 })),
    ];
    for (const b of boxes) assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.w <= s.width && b.y + b.h <= s.height);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        assert.ok(
          a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y,
          `${s.id}: overlap`,
        );
      }
    }
    for (const g of s.signs) assert.equal(g.reading, g.text.toLowerCase());
    for (const o of s.objects) {
      assert.ok(o.label && o.label.length === 1);
      const m = shapeMask(o.shape, o.x, o.y, o.r, s.width, s.height);
      const at = labelOrigin(o);
      for (let y = at.y; y < at.y + (GLYPH_H - 1) * at.scale; y++) {
        for (let x = at.x; x < at.x + GLYPH_W * at.scale; x++) {
          assert.equal(
            m.cov[(y - m.y0) * m.w + (x - m.x0)],
            SAMPLES,
            `${s.id}: label outside its ${o.shape}`,
          );
        }
      }
    }
  }
});

test("chart scenes: distinct labels and values, pies are whole", () => {
  for (const s of scenes.filter((x) => x.kind === "chart")) {
    const c = s.chart!;
    const n = c.labels.length;
    assert.equal(new Set(c.labels).size, n);
    assert.equal(new Set(c.values).size, n);
    assert.equal(c.colors.length, n);
    if (c.type === "pie") {
      assert.ok(n >= 3 && n <= 4);
      assert.equal(
        c.values.reduce((a, b) => a + b, 0),
        100,
      );
      for (const v of c.values) assert.ok(v % 5 === 0 && v >= 10);
      assert.equal(new Set(c.colors).size, n);
    } else {
      assert.ok(c.type === "bar" ? n === 3 : n >= 3 && n <= 5);
      for (const v of c.values) assert.ok(v >= 5 && v <= 99);
    }
  }
});

test("mixed layout: each shapes scene is the board's or the free layout's, about half each, the choice fixed by the seed", () => {
  let board = 0;
  let shapes = 0;
  for (const seed of seeds) {
    const s = makeScene(seed, { layout: "mixed" });
    assert.deepEqual(s, makeScene(seed, { layout: "mixed" }));
    const free = makeScene(seed);
    if (s.kind !== "shapes") {
      assert.deepEqual(s, free);
      continue;
    }
    shapes++;
    const grid = makeScene(seed, { layout: "grid" });
    if (JSON.stringify(s) === JSON.stringify(grid)) board++;
    else assert.deepEqual(s, free, `${s.id}: neither the board's scene nor the free one`);
  }
  assert.ok(shapes > 700, `only ${shapes} shapes scenes`);
  assert.ok(board > 0.4 * shapes && board < 0.6 * shapes, `${board} of ${shapes} on the board`);
});

test("grid layout: each shape alone in a cell of the 8 × 8 board, wholly inside it, 3 px from the others", () => {
  const cell = IMAGE_SIZE / GRID_CELLS;
  let shapes = 0;
  let closest = 0;
  for (const seed of seeds) {
    const s = makeScene(seed, { layout: "grid" });
    if (s.kind !== "shapes") {
      // Only shapes scenes are laid out differently.
      assert.deepEqual(s, makeScene(seed));
      continue;
    }
    shapes++;
    assert.ok(s.objects.length >= 1 && s.objects.length <= MAX_OBJECTS);
    // The same objects as the free layout asks for, in kind, colour and size; only where they go differs.
    const free = makeScene(seed).objects;
    const key = (o: { shape: string; color: string }) => `${o.color} ${o.shape}`;
    assert.ok(
      s.objects.every((o) => free.map(key).includes(key(o))),
      `${s.id}: objects differ from the free layout's`,
    );
    const cells = new Set<number>();
    for (const o of s.objects) {
      assert.equal((o.x - cell / 2) % cell, 0, `${s.id}: x ${o.x} is not a cell centre`);
      assert.equal((o.y - cell / 2) % cell, 0, `${s.id}: y ${o.y} is not a cell centre`);
      assert.ok(o.r >= GRID_SIZE_RANGE[o.size][0] && o.r <= GRID_SIZE_RANGE[o.size][1], `${s.id}: r ${o.r}`);
      assert.equal(o.visible, 1);
      const c = Math.floor(o.y / cell) * GRID_CELLS + Math.floor(o.x / cell);
      assert.ok(!cells.has(c), `${s.id}: two shapes in cell ${c}`);
      cells.add(c);
      // Every covered pixel lies in the shape's own cell, so one 16-px patch holds the whole shape.
      const m = shapeMask(o.shape, o.x, o.y, o.r, s.width, s.height);
      for (let y = 0; y < m.h; y++)
        for (let x = 0; x < m.w; x++)
          if (m.cov[y * m.w + x]! > 0) {
            assert.equal(
              Math.floor((m.x0 + x) / cell),
              Math.floor(o.x / cell),
              `${s.id}: ${o.shape} leaves its cell`,
            );
            assert.equal(
              Math.floor((m.y0 + y) / cell),
              Math.floor(o.y / cell),
              `${s.id}: ${o.shape} leaves its cell`,
            );
          }
    }
    // Outlines reach 1.05 r: shapes keep at least 3 px apart, so each can be told from its neighbours.
    for (let i = 0; i < s.objects.length; i++)
      for (let j = i + 1; j < s.objects.length; j++) {
        const [a, b] = [s.objects[i]!, s.objects[j]!];
        const gap = Math.sqrt((a.x - b.x) ** 2 + (a.y - b.y) ** 2) - 1.05 * (a.r + b.r);
        assert.ok(gap >= 3, `${s.id}: shapes ${i} and ${j} ${gap.toFixed(1)} px apart`);
        if (gap < cell) closest++;
      }
  }
  assert.ok(shapes > 700, `only ${shapes} shapes scenes`);
  // Neighbouring cells are used (the board is not spread out artificially).
  assert.ok(closest > 20, `only ${closest} pairs of shapes in neighbouring cells`);
  // Deterministic for a seed.
  assert.deepEqual(makeScene(seeds[0]!, { layout: "grid" }), makeScene(seeds[0]!, { layout: "grid" }));
});
