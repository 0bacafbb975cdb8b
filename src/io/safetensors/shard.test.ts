import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fixturesDir } from "../../testing/fixtures.js";
import { listDir, pattern, tempDir, walkFiles } from "../../testing/safetensors-files.js";
import { CheckpointError } from "../../util/errors.js";
import { openWeights } from "./checkpoint.js";
import { SafetensorsFile } from "./file.js";
import { INDEX_FILE, SINGLE_FILE, writeShardedSafetensors } from "./shard.js";
import { type StWriteEntry, writeSafetensors } from "./write.js";

const u8 = (name: string, n: number, seed = 0): StWriteEntry => ({
  name,
  dtype: "U8",
  shape: [n],
  data: pattern(n, seed),
});

describe("writeShardedSafetensors", () => {
  test("fills shards greedily in order; a tensor over the limit gets its own shard", (t) => {
    const dir = tempDir(t);
    const entries = [u8("a", 40, 1), u8("b", 40, 2), u8("c", 30, 3), u8("big", 250, 4), u8("d", 10, 5)];
    const r = writeShardedSafetensors(dir, entries, { maxShardBytes: 100, metadata: { format: "pt" } });
    assert.deepEqual(r.shards, [
      "model-00001-of-00004.safetensors",
      "model-00002-of-00004.safetensors",
      "model-00003-of-00004.safetensors",
      "model-00004-of-00004.safetensors",
    ]);
    assert.equal(r.totalSize, 370);
    const index = JSON.parse(readFileSync(r.indexPath, "utf8"));
    assert.deepEqual(index, {
      metadata: { total_size: 370 },
      weight_map: {
        a: r.shards[0],
        b: r.shards[0],
        big: r.shards[2],
        c: r.shards[1],
        d: r.shards[3],
      },
    });
    assert.equal(readFileSync(r.indexPath, "utf8").slice(0, 16), '{\n  "metadata": ');
    assert.deepEqual(listDir(dir), [INDEX_FILE, ...r.shards].sort());

    const ckpt = openWeights(dir);
    for (const e of entries) assert.deepEqual(ckpt.readBytes(e.name), e.data, e.name);
    for (const f of ckpt.files) assert.deepEqual(f.metadata, { format: "pt" });
    ckpt.close();
  });

  test("no tensors: one empty shard and an index, in a folder it creates", (t) => {
    const dir = join(tempDir(t), "new", "folder");
    const r = writeShardedSafetensors(dir, [], { maxShardBytes: 10 });
    assert.deepEqual(r.shards, ["model-00001-of-00001.safetensors"]);
    const ckpt = openWeights(dir);
    assert.deepEqual(ckpt.names(), []);
    ckpt.close();
  });

  test("replaces an older checkpoint in the folder and removes its stale files", (t) => {
    const dir = tempDir(t);
    writeShardedSafetensors(dir, [u8("a", 10), u8("b", 10), u8("c", 10)], { maxShardBytes: 10 });
    writeSafetensors(join(dir, SINGLE_FILE), [u8("old", 1)]);
    writeFileSync(join(dir, "config.json"), "{}");
    const r = writeShardedSafetensors(dir, [u8("x", 5), u8("y", 5)], { maxShardBytes: 10 });
    assert.deepEqual(listDir(dir), ["config.json", INDEX_FILE, ...r.shards].sort());
    const ckpt = openWeights(dir);
    assert.deepEqual(ckpt.names(), ["x", "y"]);
    ckpt.close();
  });

  test("a failure while writing leaves the old checkpoint untouched and no temporary files", (t) => {
    const dir = tempDir(t);
    writeShardedSafetensors(dir, [u8("a", 10, 1), u8("b", 10, 2)], { maxShardBytes: 10 });
    const before = listDir(dir).map((f) => [f, readFileSync(join(dir, f))]);
    const boom: StWriteEntry = {
      name: "boom",
      dtype: "U8",
      shape: [4],
      data: () => {
        throw new Error("out of memory");
      },
    };
    assert.throws(
      () => writeShardedSafetensors(dir, [u8("a", 10, 7), u8("b", 10, 8), boom], { maxShardBytes: 10 }),
      (e: unknown) => e instanceof CheckpointError && /"boom".*out of memory/.test(e.message),
    );
    assert.deepEqual(
      listDir(dir).map((f) => [f, readFileSync(join(dir, f))]),
      before,
    );
    // Bad input is refused before any file is created.
    assert.throws(
      () => writeShardedSafetensors(dir, [u8("a", 1), u8("a", 1)], { maxShardBytes: 10 }),
      /given twice/,
    );
    assert.deepEqual(
      listDir(dir).map((f) => [f, readFileSync(join(dir, f))]),
      before,
    );
  });

  test("re-sharding a fixture checkpoint keeps every tensor", (t) => {
    const index = walkFiles(fixturesDir(), INDEX_FILE)[0]!;
    const src = openWeights(dirname(index));
    const entries: StWriteEntry[] = src.names().map((name) => {
      const e = src.info(name);
      return { name, dtype: e.dtype, shape: e.shape, data: () => src.readBytes(name) };
    });
    const dir = tempDir(t);
    const total = entries.reduce((s, e) => s + src.info(e.name).byteLength, 0);
    const r = writeShardedSafetensors(dir, entries, { maxShardBytes: Math.ceil(total / 3) });
    assert.ok(r.shards.length >= 3);
    writeSafetensors(join(dir, "single.safetensors"), entries);
    const resharded = openWeights(dir);
    const single = SafetensorsFile.open(join(dir, "single.safetensors"));
    for (const name of src.names()) {
      const want = src.readBytes(name);
      assert.deepEqual(resharded.readBytes(name), want, name);
      assert.deepEqual(single.readBytes(name), want, name);
      assert.deepEqual(resharded.info(name).shape, src.info(name).shape);
    }
    src.close();
    resharded.close();
    single.close();
  });
});
