import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fixturesDir } from "../../testing/fixtures.js";
import { listDir, pattern, tempDir, walkFiles } from "../../testing/safetensors-files.js";
import { CheckpointError } from "../../util/errors.js";
import { dtypeRank, dtypeSize, ST_DTYPES } from "./dtype.js";
import { SafetensorsFile } from "./file.js";
import { type StWriteEntry, writeSafetensors } from "./write.js";

const f32 = (...xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);
const ascii = (s: string) => [...Buffer.from(s)];

describe("writeSafetensors: the reference writer's bytes", () => {
  // Expected bytes of the reference's own serialization tests (huggingface/safetensors tensor.rs).
  test("one F32 tensor", (t) => {
    const p = join(tempDir(t), "a.safetensors");
    writeSafetensors(p, [{ name: "attn.0", dtype: "F32", shape: [1, 2, 3], data: f32(0, 1, 2, 3, 4, 5) }]);
    const json = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    assert.deepEqual(
      [...readFileSync(p)],
      [64, 0, 0, 0, 0, 0, 0, 0, ...ascii(json), ...f32(0, 1, 2, 3, 4, 5)],
    );
  });

  test("padding to 8 bytes with spaces", (t) => {
    const p = join(tempDir(t), "a.safetensors");
    writeSafetensors(p, [{ name: "attn0", dtype: "F32", shape: [1, 1, 2, 3], data: f32(0, 1, 2, 3, 4, 5) }]);
    const json = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ';
    assert.deepEqual(
      [...readFileSync(p)],
      [72, 0, 0, 0, 0, 0, 0, 0, ...ascii(json), ...f32(0, 1, 2, 3, 4, 5)],
    );
  });

  test("no tensors, with and without metadata", (t) => {
    const dir = tempDir(t);
    writeSafetensors(join(dir, "a.safetensors"), []);
    assert.deepEqual(
      [...readFileSync(join(dir, "a.safetensors"))],
      [8, 0, 0, 0, 0, 0, 0, 0, ...ascii("{}      ")],
    );
    writeSafetensors(join(dir, "b.safetensors"), [], { framework: "pt" });
    const json = '{"__metadata__":{"framework":"pt"}}     ';
    assert.deepEqual(
      [...readFileSync(join(dir, "b.safetensors"))],
      [40, 0, 0, 0, 0, 0, 0, 0, ...ascii(json)],
    );
  });

  test("order: by dtype alignment, largest first, then by name as UTF-8 bytes", (t) => {
    const p = join(tempDir(t), "a.safetensors");
    const e = (name: string, dtype: StWriteEntry["dtype"]): StWriteEntry => ({
      name,
      dtype,
      shape: [1],
      data: new Uint8Array(dtypeSize(dtype)),
    });
    // "\u{1F600}" sorts after "\uFFFD" as UTF-8 bytes, before it as UTF-16 units.
    writeSafetensors(p, [
      e("b", "U8"),
      e("\u{1F600}", "F16"),
      e("a", "U8"),
      e("\uFFFD", "F16"),
      e("x", "F64"),
      e("y", "U64"),
    ]);
    const f = SafetensorsFile.open(p);
    assert.deepEqual(f.names(), ["y", "x", "\uFFFD", "\u{1F600}", "a", "b"]);
    for (const entry of f.entries) assert.equal(entry.byteOffset % dtypeSize(entry.dtype), 0, entry.name);
    f.close();
  });
  test("rewriting a fixture written by the reference writer gives the same bytes", (t) => {
    const out = join(tempDir(t), "re.safetensors");
    let compared = 0;
    for (const path of walkFiles(fixturesDir(), ".safetensors")) {
      const f = SafetensorsFile.open(path);
      const entries = f.entries.map((e) => ({ ...e, data: f.readBytes(e.name) }));
      // Files in the reference's order came from its writer; others (name order) from another tool.
      const key = (e: (typeof entries)[number]) => [-dtypeRank(e.dtype), Buffer.from(e.name)] as const;
      const inOrder = entries.every((e, i) => {
        if (i === 0) return true;
        const [a, b] = [key(entries[i - 1]!), key(e)];
        return a[0] < b[0] || (a[0] === b[0] && Buffer.compare(a[1], b[1]) < 0);
      });
      if (inOrder) {
        writeSafetensors(out, entries, Object.keys(f.metadata).length > 0 ? f.metadata : undefined);
        assert.ok(readFileSync(out).equals(readFileSync(path)), path);
        compared++;
      }
      f.close();
    }
    assert.ok(compared > 0, "no fixture in the reference writer's order");
  });
});

describe("writeSafetensors: round trips", () => {
  test("every dtype, empty tensors, 0-d scalars, metadata", (t) => {
    const p = join(tempDir(t), "all.safetensors");
    const entries: StWriteEntry[] = [];
    ST_DTYPES.forEach((dtype, i) => {
      const shape = [i % 3, 5] as number[]; // some empty
      entries.push({ name: `t.${dtype}`, dtype, shape, data: pattern((i % 3) * 5 * dtypeSize(dtype), i) });
      entries.push({ name: `s.${dtype}`, dtype, shape: [], data: pattern(dtypeSize(dtype), i + 1) });
    });
    const metadata = { format: "pt", note: 'quotes " and \\ and ünïcode' };
    writeSafetensors(p, entries, metadata);
    const f = SafetensorsFile.open(p);
    assert.deepEqual(f.metadata, metadata);
    assert.equal(f.entries.length, entries.length);
    for (const e of entries) {
      const info = f.info(e.name);
      assert.deepEqual([info.dtype, info.shape], [e.dtype, e.shape], e.name);
      assert.deepEqual(f.readBytes(e.name), e.data, e.name);
    }
    f.close();
  });

  test("a few MB written and read in small chunks, from shared memory", (t) => {
    const p = join(tempDir(t), "big.safetensors");
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true }); // 4 MiB
    const n = 3 * 2 ** 20 + 12;
    const src = new Uint8Array(memory.buffer, 100, n);
    src.set(pattern(n, 3));
    writeSafetensors(p, [{ name: "w", dtype: "F32", shape: [n / 4], data: src }], undefined, {
      chunkBytes: 65_537,
    });
    const f = SafetensorsFile.open(p, { chunkBytes: 100_003 });
    const dest = new Uint8Array(new SharedArrayBuffer(n));
    f.read("w", dest);
    assert.deepEqual(dest, pattern(n, 3));
    f.close();
  });

  test("data given as functions is produced once, in file order", (t) => {
    const p = join(tempDir(t), "lazy.safetensors");
    const calls: string[] = [];
    const lazy = (name: string, seed: number): StWriteEntry => ({
      name,
      dtype: "U8",
      shape: [3],
      data: () => {
        calls.push(name);
        return pattern(3, seed);
      },
    });
    writeSafetensors(p, [lazy("b", 1), lazy("a", 2)]);
    assert.deepEqual(calls, ["a", "b"]);
    const f = SafetensorsFile.open(p);
    assert.deepEqual([f.readBytes("a"), f.readBytes("b")], [pattern(3, 2), pattern(3, 1)]);
    f.close();
  });

  test("overwrites an existing file", (t) => {
    const p = join(tempDir(t), "x.safetensors");
    writeSafetensors(p, [{ name: "a", dtype: "U8", shape: [1], data: new Uint8Array([1]) }]);
    writeSafetensors(p, [{ name: "b", dtype: "U8", shape: [2], data: new Uint8Array([2, 3]) }]);
    const f = SafetensorsFile.open(p);
    assert.deepEqual(f.names(), ["b"]);
    f.close();
  });
});

describe("writeSafetensors: refusals and atomicity", () => {
  const ok: StWriteEntry = { name: "ok", dtype: "U8", shape: [4], data: new Uint8Array(4) };

  /** Writes `entries` over an existing file and checks: CheckpointError naming file and tensor, old file intact, no litter. */
  function refusesCleanly(
    t: { after(fn: () => void): void },
    entries: Iterable<StWriteEntry>,
    tensor: string,
    re: RegExp,
    metadata?: Record<string, string>,
  ) {
    const dir = tempDir(t);
    const p = join(dir, "model.safetensors");
    writeFileSync(p, "old contents");
    assert.throws(
      () => writeSafetensors(p, entries, metadata),
      (e: unknown) => {
        assert.ok(e instanceof CheckpointError, String(e));
        assert.ok(e.message.includes(p), e.message);
        assert.ok(e.message.includes(tensor), e.message);
        assert.match(e.message, re);
        return true;
      },
    );
    assert.equal(readFileSync(p, "utf8"), "old contents");
    assert.deepEqual(listDir(dir), ["model.safetensors"]);
  }

  test("data of the wrong length", (t) => {
    const bad = { name: "w", dtype: "F32", shape: [2, 3], data: new Uint8Array(20) } as const;
    refusesCleanly(t, [ok, bad], '"w"', /data has 20 bytes, but shape \[2,3\] of F32 needs 24/);
  });

  test("a duplicate name, the reserved name, an unknown dtype, a bad shape, non-string metadata", (t) => {
    refusesCleanly(t, [ok, ok], '"ok"', /given twice/);
    refusesCleanly(t, [{ ...ok, name: "__metadata__" }], '"__metadata__"', /reserved/);
    refusesCleanly(t, [{ ...ok, dtype: "Q4" as never }], '"ok"', /unknown dtype "Q4"/);
    refusesCleanly(t, [{ ...ok, shape: [2, -2] }], '"ok"', /not a non-negative integer/);
    refusesCleanly(t, [ok], '"n"', /not a string/, { n: 3 as never });
  });

  test("a failure midway, after some tensors were written", (t) => {
    // File order is a, b, c: "b" fails after "a" went to disk.
    const a: StWriteEntry = { name: "a", dtype: "U8", shape: [1 << 16], data: pattern(1 << 16) };
    const boom: StWriteEntry = {
      name: "b",
      dtype: "U8",
      shape: [4],
      data: () => {
        throw new Error("device lost");
      },
    };
    refusesCleanly(t, [a, boom, { ...ok, name: "c" }], '"b"', /device lost/);
    const short: StWriteEntry = { name: "b", dtype: "U8", shape: [4], data: () => new Uint8Array(3) };
    refusesCleanly(t, [a, short], '"b"', /data has 3 bytes/);
  });

  test("entries whose iteration throws", (t) => {
    function* gen(): Generator<StWriteEntry> {
      yield ok;
      throw new Error("producer crashed");
    }
    refusesCleanly(t, gen(), "failed", /producer crashed/);
  });
});
