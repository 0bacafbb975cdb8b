/** The GGUF writer and reader: metadata of every type, tensor infos, alignment, bytes, atomic writes, errors. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { JsBackend } from "../../backend/js/backend.js";
import { cast } from "../../tensor/ops/convert.js";
import { fromF32 } from "../../tensor/tensor.js";
import { readGguf, readTensorBytes } from "./reader.js";
import { permuteRotaryRows } from "./tensors.js";
import { type GgufKv, kv, writeGguf } from "./writer.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-gguf-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

describe("GGUF writer and reader", () => {
  test("every metadata type round-trips, in order", () => {
    const kvs: GgufKv[] = [
      kv.string("general.architecture", "llama"),
      { key: "t.u8", type: "u8", value: 255 },
      { key: "t.i8", type: "i8", value: -128 },
      { key: "t.u16", type: "u16", value: 65535 },
      { key: "t.i16", type: "i16", value: -32768 },
      kv.u32("t.u32", 4294967295),
      kv.i32("t.i32", -2147483648),
      kv.f32("t.f32", 0.5),
      kv.f64("t.f64", Math.PI),
      kv.u64("t.u64", 2n ** 63n),
      { key: "t.i64", type: "i64", value: -(2n ** 62n) },
      kv.bool("t.true", true),
      kv.bool("t.false", false),
      kv.string("t.unicode", "Ġthe ▁piece 😶‍🌫️ 我"),
      kv.string("t.empty", ""),
      kv.array("t.strings", "string", ["a", "", "▁b", "<0x0A>"]),
      kv.array("t.i32s", "i32", [1, -2, 3]),
      kv.array("t.f32s", "f32", [0.25, -1.5]),
      kv.array("t.bools", "bool", [true, false]),
      kv.array("t.empty_array", "u32", []),
    ];
    const file = join(tmp, "meta.gguf");
    writeGguf(file, kvs, []);
    const g = readGguf(file);
    assert.equal(g.version, 3);
    // The writer adds general.alignment.
    assert.deepEqual(g.kvs.slice(0, kvs.length), kvs);
    assert.equal(g.get("general.alignment"), 32);
    assert.equal(g.tensors.length, 0);
  });

  test("tensor infos, aligned offsets and bytes of F32, F16, BF16, Q8_0 and Q4_0", () => {
    const tensors = [
      { name: "a", shape: [3], type: "F32" as const, data: () => bytes(12, 1) },
      { name: "b", shape: [2, 5], type: "F16" as const, data: () => bytes(20, 2) },
      { name: "c", shape: [1, 3], type: "BF16" as const, data: () => bytes(6, 3) },
      { name: "d", shape: [3, 64], type: "Q8_0" as const, data: () => bytes(3 * 2 * 34, 4) },
      { name: "e", shape: [2, 3, 32], type: "Q4_0" as const, data: () => bytes(6 * 18, 5) },
      { name: "f.conv", shape: [4, 3, 2, 2], type: "F16" as const, data: () => bytes(96, 6) },
    ];
    const file = join(tmp, "tensors.gguf");
    const r = writeGguf(file, [kv.string("general.architecture", "x")], tensors);
    assert.equal(r.bytes, statSync(file).size);
    const g = readGguf(file);
    assert.equal(g.dataOffset, r.dataOffset);
    assert.equal(g.dataOffset % 32, 0);
    for (const t of tensors) {
      const info = g.tensor(t.name);
      assert.deepEqual(info.shape, t.shape);
      assert.deepEqual(info.ne, [...t.shape].reverse(), "ne is the shape reversed");
      assert.equal(info.type, t.type);
      assert.equal(info.offset % 32, 0);
      assert.deepEqual(readTensorBytes(g, t.name), t.data());
    }
  });

  test("a custom alignment is written and honoured", () => {
    const file = join(tmp, "align64.gguf");
    writeGguf(
      file,
      [],
      [
        { name: "x", shape: [3], type: "F32", data: () => bytes(12, 0) },
        { name: "y", shape: [1], type: "F32", data: () => bytes(4, 9) },
      ],
      {
        alignment: 64,
      },
    );
    const g = readGguf(file);
    assert.equal(g.alignment, 64);
    assert.equal(g.dataOffset % 64, 0);
    assert.equal(g.tensor("y").offset, 64);
    assert.deepEqual(readTensorBytes(g, "y"), bytes(4, 9));
  });

  test("our q8/q4 tensors are written as they are: Q8_0/Q4_0 blocks", () => {
    const backend = new JsBackend();
    const values = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i) * (i % 7));
    const f = fromF32(backend, values, [2, 64]);
    const q8 = cast(f, "q8");
    const q4 = cast(f, "q4");
    const file = join(tmp, "quant.gguf");
    writeGguf(
      file,
      [],
      [
        { name: "q8", shape: [2, 64], type: "Q8_0", data: () => q8.toBytes() },
        { name: "q4", shape: [2, 64], type: "Q4_0", data: () => q4.toBytes() },
      ],
    );
    const g = readGguf(file);
    assert.deepEqual(readTensorBytes(g, "q8"), q8.toBytes());
    assert.deepEqual(readTensorBytes(g, "q4"), q4.toBytes());
    assert.equal(g.get("general.quantization_version"), 2);
    backend.dispose();
  });

  test("bad input is refused and leaves no file behind", () => {
    const file = join(tmp, "bad.gguf");
    const t = (over: object) => ({
      name: "t",
      shape: [2, 32],
      type: "F32" as const,
      data: () => bytes(256, 0),
      ...over,
    });
    assert.throws(
      () => writeGguf(file, [], [t({ type: "Q8_0", shape: [2, 30] })]),
      /whole 32-element blocks/,
    );
    assert.throws(() => writeGguf(file, [], [t({}), t({})]), /given twice/);
    assert.throws(() => writeGguf(file, [kv.u32("k", 1), kv.u32("k", 2)], []), /given twice/);
    assert.throws(() => writeGguf(file, [kv.u32("k", -1)], []), /does not fit u32/);
    assert.throws(() => writeGguf(file, [], [t({ name: "x".repeat(64) })]), /longer than 63/);
    assert.throws(() => writeGguf(file, [], [t({ data: () => bytes(10, 0) })]), /expected 256 bytes, got 10/);
    assert.deepEqual(
      readdirSync(tmp).filter((n) => n.includes("bad")),
      [],
      "no target and no temporary file",
    );
  });

  test("the reader refuses what is not GGUF", () => {
    const file = join(tmp, "meta.gguf");
    const head = readFileSync(file).subarray(0, 30);
    const trunc = join(tmp, "trunc.gguf");
    writeGguf(trunc, [kv.string("k", "v".repeat(100))], []);
    const full = readFileSync(trunc);
    const cut = join(tmp, "cut.gguf");
    writeFileSync(cut, full.subarray(0, 40));
    assert.throws(() => readGguf(cut), /truncated/);
    const notGguf = join(tmp, "not.gguf");
    writeFileSync(notGguf, Buffer.concat([Buffer.from("GGML"), head.subarray(4)]));
    assert.throws(() => readGguf(notGguf), /not a GGUF file/);
  });

  test("rotary permutation: row 2i+j of a head takes row j·d/2 + i", () => {
    // 2 heads of 4 rows, 1 byte per row: head rows [0,1,2,3] → [0,2,1,3].
    const out = permuteRotaryRows(Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 8, 2);
    assert.deepEqual([...out], [0, 2, 1, 3, 4, 6, 5, 7]);
    // Whole rows move: 3 bytes per row.
    const rows = Uint8Array.from({ length: 12 }, (_, i) => i);
    assert.deepEqual([...permuteRotaryRows(rows, 4, 1)], [0, 1, 2, 6, 7, 8, 3, 4, 5, 9, 10, 11]);
    assert.throws(() => permuteRotaryRows(rows, 4, 3), /even size/);
  });
});
