// One test per validation rule of ./header.ts, each on a hand-crafted file read through SafetensorsFile.open.
import assert from "node:assert/strict";
import { truncateSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { craft, tempDir } from "../../testing/safetensors-files.js";
import { CheckpointError } from "../../util/errors.js";
import { SafetensorsFile } from "./file.js";
import { MAX_HEADER_BYTES } from "./header.js";

const f32 = (shape: number[], begin: number, end: number) => ({
  dtype: "F32",
  shape,
  data_offsets: [begin, end],
});

/** Asserts that opening `path` fails with a CheckpointError naming the file, the tensor and `pattern`. */
function refuses(path: string, tensor: string | null, pattern: RegExp): void {
  assert.throws(
    () => SafetensorsFile.open(path),
    (e: unknown) => {
      assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${String(e)}`);
      assert.ok(e.message.includes(path), `message should name the file: ${e.message}`);
      if (tensor !== null)
        assert.ok(e.message.includes(`"${tensor}"`), `message should name ${tensor}: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

describe("safetensors header validation", () => {
  test("a file shorter than the 8 length bytes", (t) => {
    const p = join(tempDir(t), "short.safetensors");
    craft(p, new Uint8Array(0), 0, 0n);
    truncateSync(p, 5); // craft always writes the 8 length bytes
    refuses(p, null, /5 bytes, fewer than the 8/);
  });

  test("a header length over the cap", (t) => {
    const dir = tempDir(t);
    refuses(
      craft(join(dir, "a.safetensors"), {}, 0, BigInt(MAX_HEADER_BYTES + 1)),
      null,
      /over the 100000000-byte limit/,
    );
    refuses(craft(join(dir, "b.safetensors"), {}, 0, 2n ** 64n - 1n), null, /over the 100000000-byte limit/);
  });

  test("a header length beyond the end of the file", (t) => {
    refuses(
      craft(join(tempDir(t), "x.safetensors"), {}, 0, 1000n),
      null,
      /runs past the end of the 10-byte file/,
    );
  });

  test("a header that is not UTF-8", (t) => {
    refuses(
      craft(join(tempDir(t), "x.safetensors"), new Uint8Array([0x7b, 0xff, 0x7d])),
      null,
      /not valid UTF-8/,
    );
  });

  test("a header that is not JSON", (t) => {
    const dir = tempDir(t);
    refuses(craft(join(dir, "a.safetensors"), '{"a": '), null, /not valid JSON/);
    // A byte-order mark is not JSON whitespace (the reference's serde refuses it too).
    refuses(craft(join(dir, "b.safetensors"), "\ufeff{}"), null, /not valid JSON/);
  });

  test("a header that is not a JSON object", (t) => {
    const dir = tempDir(t);
    refuses(craft(join(dir, "a.safetensors"), "[1, 2]"), null, /is an array, not a JSON object/);
    refuses(craft(join(dir, "b.safetensors"), '"hi"'), null, /is string, not a JSON object/);
    refuses(craft(join(dir, "c.safetensors"), "null"), null, /not a JSON object/);
  });

  test("__metadata__ that is not an object of strings", (t) => {
    const dir = tempDir(t);
    refuses(
      craft(join(dir, "a.safetensors"), { __metadata__: { n: 3 } }),
      null,
      /key "n" is 3, not a string/,
    );
    refuses(craft(join(dir, "b.safetensors"), { __metadata__: ["x"] }), null, /not an object of strings/);
  });

  test("a tensor entry that is not an object", (t) => {
    refuses(
      craft(join(tempDir(t), "x.safetensors"), { w: [0, 4] }),
      "w",
      /not \{dtype, shape, data_offsets\}/,
    );
  });

  test("an unknown dtype", (t) => {
    const dir = tempDir(t);
    const bad = { w: { dtype: "Q4_0", shape: [2], data_offsets: [0, 2] } };
    refuses(craft(join(dir, "a.safetensors"), bad, 2), "w", /unknown dtype "Q4_0"/);
    const missing = { w: { shape: [2], data_offsets: [0, 2] } };
    refuses(craft(join(dir, "b.safetensors"), missing, 2), "w", /unknown dtype undefined/);
  });

  test("a malformed shape", (t) => {
    const dir = tempDir(t);
    const cases: [string, unknown][] = [
      ["neg", [-1, 2]],
      ["frac", [1.5]],
      ["str", ["2"]],
      ["obj", { 0: 2 }],
      ["none", undefined],
    ];
    for (const [name, shape] of cases) {
      const p = craft(join(dir, `${name}.safetensors`), {
        [name]: { dtype: "U8", shape, data_offsets: [0, 0] },
      });
      refuses(p, name, /shape/);
    }
  });

  test("data_offsets that are not a pair of non-negative integers", (t) => {
    const dir = tempDir(t);
    const cases: [string, unknown][] = [
      ["one", [0]],
      ["three", [0, 4, 8]],
      ["neg", [-4, 0]],
      ["frac", [0, 3.5]],
      ["str", ["0", "4"]],
      ["none", undefined],
    ];
    for (const [name, offsets] of cases) {
      const p = craft(
        join(dir, `${name}.safetensors`),
        { [name]: { dtype: "F32", shape: [1], data_offsets: offsets } },
        4,
      );
      refuses(p, name, /is not a pair of non-negative integers/);
    }
  });

  test("reversed data_offsets", (t) => {
    refuses(craft(join(tempDir(t), "x.safetensors"), { w: f32([0], 4, 0) }, 4), "w", /end before they begin/);
  });

  test("data_offsets past the end of the file", (t) => {
    const p = craft(join(tempDir(t), "x.safetensors"), { a: f32([1], 0, 4), w: f32([2], 4, 12) }, 8);
    refuses(p, "w", /\[4, 12\] run past the end of the 8-byte data section/);
  });

  test("data_offsets that do not cover exactly shape × dtype size", (t) => {
    const dir = tempDir(t);
    refuses(
      craft(join(dir, "a.safetensors"), { w: f32([2, 3], 0, 12) }, 12),
      "w",
      /hold 12 bytes, but shape \[2,3\] of F32 needs 24/,
    );
    refuses(
      craft(join(dir, "b.safetensors"), { w: f32([], 0, 0) }, 0),
      "w",
      /hold 0 bytes, but shape \[\] of F32 needs 4/,
    );
  });

  test("a shape whose size overflows", (t) => {
    const p = craft(join(tempDir(t), "x.safetensors"), { w: f32([2 ** 30, 2 ** 30, 2 ** 30], 0, 4) }, 4);
    refuses(p, "w", /overflows/);
  });

  test("bytes that belong to no tensor before, between or after tensors", (t) => {
    const dir = tempDir(t);
    refuses(
      craft(join(dir, "a.safetensors"), { w: f32([1], 4, 8) }, 8),
      "w",
      /4 bytes after the start of the data section/,
    );
    const gap = { a: f32([1], 0, 4), b: f32([1], 8, 12) };
    refuses(craft(join(dir, "b.safetensors"), gap, 12), "b", /4 bytes after tensor "a" belong to no tensor/);
    refuses(
      craft(join(dir, "c.safetensors"), { a: f32([1], 0, 4) }, 9),
      null,
      /5 bytes after the last tensor/,
    );
    refuses(craft(join(dir, "d.safetensors"), {}, 1), null, /1 bytes after the last tensor/);
  });

  test("overlapping tensors", (t) => {
    const dir = tempDir(t);
    const overlap = { a: f32([2], 0, 8), b: f32([2], 4, 12) };
    refuses(craft(join(dir, "a.safetensors"), overlap, 12), "b", /overlap those of tensor "a"/);
    const same = { a: f32([2], 0, 8), b: f32([2], 0, 8) };
    refuses(craft(join(dir, "b.safetensors"), same, 8), null, /overlap/);
    // An empty tensor placed inside another one's bytes is refused too, as the reference does.
    const inside = { a: f32([2], 0, 8), e: f32([0], 4, 4) };
    refuses(craft(join(dir, "c.safetensors"), inside, 8), null, /overlap/);
  });
});

describe("safetensors header: what is accepted", () => {
  test("any order of entries, empty tensors, scalars, null metadata, unknown fields, whitespace", (t) => {
    const header =
      ' {"z": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]},\n' +
      '  "__metadata__": null,\n' +
      '  "a": {"dtype": "U8", "shape": [3, 0], "data_offsets": [8, 8], "extra": true},\n' +
      '  "b": {"dtype": "U8", "shape": [0], "data_offsets": [8, 8]},\n' +
      '  "c": {"dtype": "BF16", "shape": [1, 2], "data_offsets": [8, 12]}}   ';
    const p = craft(join(tempDir(t), "ok.safetensors"), header, 12);
    const f = SafetensorsFile.open(p);
    try {
      assert.deepEqual(f.metadata, {});
      assert.deepEqual(
        f.entries.map((e) => [
          e.name,
          e.dtype,
          e.shape,
          e.byteOffset - (8 + Buffer.byteLength(header)),
          e.byteLength,
        ]),
        [
          ["z", "I64", [], 0, 8],
          ["a", "U8", [3, 0], 8, 0],
          ["b", "U8", [0], 8, 0],
          ["c", "BF16", [1, 2], 8, 4],
        ],
      );
      assert.equal(f.entries[0]!.file, p);
    } finally {
      f.close();
    }
  });

  test("an empty file: {} and no data; metadata with a __proto__ key stays a key", (t) => {
    const dir = tempDir(t);
    const f = SafetensorsFile.open(craft(join(dir, "a.safetensors"), "{}"));
    assert.deepEqual([f.entries.length, f.metadata], [0, {}]);
    f.close();
    const g = SafetensorsFile.open(craft(join(dir, "b.safetensors"), '{"__metadata__": {"__proto__": "x"}}'));
    assert.equal(Object.getOwnPropertyDescriptor(g.metadata, "__proto__")?.value, "x");
    g.close();
  });
});
