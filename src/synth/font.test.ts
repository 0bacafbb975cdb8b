// The bitmap font: every glyph exists, is drawn pixel for pixel at every scale, and no two glyphs look alike.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Canvas } from "./canvas.js";
import { ADVANCE, canRender, drawText, FONT_CHARS, GLYPH_H, GLYPH_W, glyph, textWidth } from "./font.js";

const WHITE = [255, 255, 255] as const;
const BLACK = [0, 0, 0] as const;

function lit(bits: Uint8Array): number {
  let n = 0;
  for (const row of bits) for (let x = 0; x < GLYPH_W; x++) if (row & (1 << x)) n++;
  return n;
}

test("the font covers A-Z, a-z, 0-9 and basic punctuation", () => {
  const needed = [
    ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    ..."abcdefghijklmnopqrstuvwxyz",
    ..."0123456789",
    ..." .,!?-:;'\"%/()+=&#$*@_",
  ];
  for (const ch of needed) assert.ok(FONT_CHARS.includes(ch), `missing glyph ${JSON.stringify(ch)}`);
  assert.ok(canRender("Hello, World! 42%"));
  assert.equal(canRender("é"), false);
  assert.throws(() => glyph("é"), /no glyph/);
});

test("glyphs are 5 columns wide, distinct, and only descenders use the last row", () => {
  const seen = new Map<string, string>();
  for (const ch of FONT_CHARS) {
    const g = glyph(ch);
    assert.equal(g.length, GLYPH_H);
    for (const row of g) assert.ok(row < 1 << GLYPH_W, `${ch}: row wider than ${GLYPH_W}`);
    if (ch !== " ") assert.ok(lit(g) > 0, `${ch}: empty glyph`);
    if (g[7] !== 0) assert.ok("gjpqy,_".includes(ch), `${ch}: uses the descender row`);
    const key = [...g].join(",");
    assert.ok(!seen.has(key), `${ch} looks like ${seen.get(key)}`);
    seen.set(key, ch);
  }
});

test("drawText draws every glyph's bits as scale×scale squares", () => {
  for (const scale of [1, 2, 3]) {
    for (const ch of FONT_CHARS) {
      const c = new Canvas(8 * scale, 10 * scale, WHITE);
      drawText(c, ch, scale, scale, scale, BLACK);
      const g = glyph(ch);
      for (let y = 0; y < c.height; y++) {
        for (let x = 0; x < c.width; x++) {
          const gx = Math.floor((x - scale) / scale);
          const gy = Math.floor((y - scale) / scale);
          const on =
            gx >= 0 && gx < GLYPH_W && gy >= 0 && gy < GLYPH_H && (g[gy]! & (1 << (GLYPH_W - 1 - gx))) !== 0;
          assert.equal(
            c.data[(y * c.width + x) * 3],
            on ? 0 : 255,
            `${ch} at scale ${scale}, pixel ${x},${y}`,
          );
        }
      }
    }
  }
});

test("text advances by 6 columns per character", () => {
  assert.equal(textWidth("", 2), 0);
  assert.equal(textWidth("abc", 1), 3 * ADVANCE - 1);
  assert.equal(textWidth("abc", 3), (3 * ADVANCE - 1) * 3);
  const c = new Canvas(40, 10, WHITE);
  drawText(c, "II", 0, 0, 1, BLACK);
  // "I" has its stem in column 2; the second one's stem is 6 columns further right.
  assert.equal(c.data[(3 * 40 + 2) * 3], 0);
  assert.equal(c.data[(3 * 40 + 8) * 3], 0);
  assert.equal(c.data[(3 * 40 + 5) * 3], 255);
});
