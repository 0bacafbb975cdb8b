/**
 * The shapes check's own drawing (scripts/shapes-check): each shape is painted in its colour where it is and nowhere
 * else, and every question's answer is what the drawn image shows (the jittered colour still nearest its name).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { drawShapes } from "../scripts/shapes-check/draw.js";
import { CHECK_SETS, checkItems } from "../scripts/shapes-check/sets.js";
import { COLOR_NAMES, COLORS } from "../src/synth/palette.js";
import { SHAPE_NAMES, SHAPE_PLURALS } from "../src/synth/shapes.js";

const px = (img: { width: number; data: Uint8Array }, x: number, y: number) =>
  Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

test("every shape is painted in its colour at its centre, the background elsewhere, the outline darker", () => {
  for (const shape of SHAPE_NAMES) {
    const spec = {
      side: 64,
      background: [250, 250, 244] as const,
      shapes: [{ shape, color: [200, 40, 40] as const, cx: 32, cy: 32, r: 20 }],
      outline: false,
    };
    const img = drawShapes(spec);
    assert.deepEqual(px(img, 32, 32), [200, 40, 40], shape);
    assert.deepEqual(px(img, 2, 2), [250, 250, 244], shape);
    const outlined = drawShapes({ ...spec, outline: true });
    // Along the row through the centre, the first painted pixel of the outlined shape is darker than the fill.
    let x = 0;
    while (px(outlined, x, 32)[1] === 250) x++;
    assert.ok(px(outlined, x + 1, 32)[0]! < 200, `${shape}: outline at x=${x + 1}`);
  }
});

test("the sets are the same for a seed, and each answer is what the image shows", () => {
  const items = checkItems(30, 5);
  assert.deepEqual(checkItems(30, 5), items);
  assert.notDeepEqual(checkItems(30, 6), items);
  assert.deepEqual([...new Set(items.map((i) => i.set))], [...CHECK_SETS]);
  const nearest = (c: readonly number[]) =>
    COLOR_NAMES.reduce((best, name) => {
      const d = (n: string) => COLORS[n as keyof typeof COLORS].reduce((s, v, i) => s + (v - c[i]!) ** 2, 0);
      return d(name) < d(best) ? name : best;
    });
  for (const item of items) {
    const drawn = item.spec.shapes.map((s) => ({ shape: s.shape, color: nearest(s.color) }));
    const q = item.question;
    const named = SHAPE_NAMES.find((s) => q.includes(` ${s}`) || q.includes(SHAPE_PLURALS[s]));
    if (item.set === "count shapes") assert.equal(item.answer, String(drawn.length));
    else if (item.set === "count one kind")
      assert.equal(item.answer, String(drawn.filter((d) => d.shape === named).length), q);
    else if (item.set === "exists (adversarial)") {
      const colour = COLOR_NAMES.find((c) => q.includes(` ${c} `))!;
      assert.equal(item.answer, drawn.some((d) => d.color === colour && d.shape === named) ? "yes" : "no", q);
    } else if (item.set === "lone shape") assert.equal(item.answer, drawn[0]!.shape);
    else assert.equal(item.answer, drawn.find((d) => d.shape === named)!.color, q);
    for (const s of item.spec.shapes) {
      assert.ok(
        s.cx - s.r >= 0 && s.cx + s.r <= item.spec.side && s.cy - s.r >= 0 && s.cy + s.r <= item.spec.side,
      );
    }
  }
});
