// PNG → RGB conversion rules (Pillow's), on files written by the test encoder for each colour type and
// bit depth. The expected values are Pillow's documented behaviour; they were also checked against
// Pillow 9.4 itself (except indices past the palette: black since Pillow 10.1, a grey ramp before).
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeTestPng, type TestPng } from "../../testing/image-encoders.js";
import { decodeImage } from "./decode.js";

async function rgb(p: TestPng): Promise<number[]> {
  const img = await decodeImage(encodeTestPng(p), { source: "test.png" });
  assert.equal(img.width, p.width);
  assert.equal(img.height, p.height);
  return Array.from(img.data);
}

const grey = (...vs: number[]) => vs.flatMap((v) => [v, v, v]);

test("grey 8-bit is replicated; grey+alpha and RGBA drop alpha (no compositing)", async () => {
  assert.deepEqual(
    await rgb({ width: 3, height: 1, depth: 8, colorType: 0, samples: [0, 77, 255] }),
    grey(0, 77, 255),
  );
  // A tRNS colour key changes nothing in RGB.
  assert.deepEqual(
    await rgb({ width: 2, height: 1, depth: 8, colorType: 0, samples: [5, 6], trns: [0, 5] }),
    grey(5, 6),
  );
  assert.deepEqual(
    await rgb({ width: 2, height: 1, depth: 8, colorType: 4, samples: [10, 0, 200, 128] }),
    grey(10, 200),
  );
  assert.deepEqual(
    await rgb({ width: 2, height: 1, depth: 8, colorType: 6, samples: [1, 2, 3, 0, 250, 251, 252, 99] }),
    [1, 2, 3, 250, 251, 252],
  );
  assert.deepEqual(
    await rgb({ width: 1, height: 2, depth: 8, colorType: 2, samples: [9, 8, 7, 6, 5, 4] }),
    [9, 8, 7, 6, 5, 4],
  );
});

test("grey below 8 bits: 1-bit is 0/255, 2-bit ×85, 4-bit ×17", async () => {
  assert.deepEqual(
    await rgb({ width: 9, height: 1, depth: 1, colorType: 0, samples: [1, 0, 1, 1, 0, 0, 0, 1, 1] }),
    grey(255, 0, 255, 255, 0, 0, 0, 255, 255),
  );
  assert.deepEqual(
    await rgb({ width: 5, height: 1, depth: 2, colorType: 0, samples: [0, 1, 2, 3, 1] }),
    grey(0, 85, 170, 255, 85),
  );
  assert.deepEqual(
    await rgb({ width: 3, height: 2, depth: 4, colorType: 0, samples: [0, 1, 15, 7, 8, 14] }),
    grey(0, 17, 255, 119, 136, 238),
  );
});

test("16-bit: grey clips at 255 (Pillow's I;16), colour channels keep the high byte", async () => {
  assert.deepEqual(
    await rgb({ width: 6, height: 1, depth: 16, colorType: 0, samples: [0, 1, 255, 256, 300, 65535] }),
    grey(0, 1, 255, 255, 255, 255),
  );
  assert.deepEqual(
    await rgb({
      width: 2,
      height: 1,
      depth: 16,
      colorType: 2,
      samples: [0x1234, 0xff00, 0x00ff, 0x8001, 0x7fff, 0x0100],
    }),
    [0x12, 0xff, 0x00, 0x80, 0x7f, 0x01],
  );
  assert.deepEqual(
    await rgb({ width: 2, height: 1, depth: 16, colorType: 4, samples: [0xabcd, 0, 0x0102, 0xffff] }),
    grey(0xab, 0x01),
  );
  assert.deepEqual(
    await rgb({ width: 1, height: 1, depth: 16, colorType: 6, samples: [0x1111, 0x2222, 0x3333, 0x4444] }),
    [0x11, 0x22, 0x33],
  );
});

test("palette images go through the palette at every depth; tRNS is ignored; indices past it are black", async () => {
  const plte = [10, 20, 30, 40, 50, 60, 70, 80, 90];
  for (const depth of [1, 2, 4, 8]) {
    const samples = depth === 1 ? [0, 1, 1, 0] : [0, 2, 1, 2];
    const expected = samples.flatMap((i) => plte.slice(i * 3, i * 3 + 3));
    assert.deepEqual(
      await rgb({ width: 4, height: 1, depth, colorType: 3, samples, plte, trns: [0, 128] }),
      expected,
      `depth ${depth}`,
    );
  }
  // Index 3 and 200 are past a 3-colour palette.
  assert.deepEqual(
    await rgb({ width: 3, height: 1, depth: 8, colorType: 3, samples: [3, 1, 200], plte }),
    [0, 0, 0, 40, 50, 60, 0, 0, 0],
  );
});

test("odd widths unpack each row from its own byte boundary", async () => {
  const samples = Array.from({ length: 7 * 3 }, (_, i) => (i * 5) % 4);
  const out = await rgb({ width: 7, height: 3, depth: 2, colorType: 0, samples });
  assert.deepEqual(out, grey(...samples.map((v) => v * 85)));
});
