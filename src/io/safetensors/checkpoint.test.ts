import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fixturesDir } from "../../testing/fixtures.js";
import { craft, pattern, tempDir, walkFiles } from "../../testing/safetensors-files.js";
import { CheckpointError } from "../../util/errors.js";
import { Checkpoint, openWeights } from "./checkpoint.js";
import { dtypeSize, numel } from "./dtype.js";
import { SafetensorsFile } from "./file.js";
import { INDEX_FILE, SINGLE_FILE } from "./shard.js";
import { writeSafetensors } from "./write.js";

const fixtures = fixturesDir();
const stFiles = walkFiles(fixtures, ".safetensors");
const indexes = walkFiles(fixtures, INDEX_FILE);
/** Checkpoint folders: those with a single weights file or an index. */
const modelDirs = [
  ...stFiles.filter((f) => basename(f) === SINGLE_FILE).map(dirname),
  ...indexes.map(dirname),
].sort();

function refuses(fn: () => unknown, ...needles: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${String(e)}`);
    for (const n of needles) assert.ok(e.message.includes(n), `message should mention ${n}: ${e.message}`);
    return true;
  });
}

describe("safetensors fixtures", () => {
  test("the fixtures hold files to read, one sharded checkpoint among them", () => {
    assert.ok(stFiles.length > 0, `no .safetensors under ${fixtures}`);
    assert.ok(indexes.length > 0, `no ${INDEX_FILE} under ${fixtures}`);
  });

  test("every .safetensors file: entries tile the file, bytes match shape × dtype, reads match the file", () => {
    for (const path of stFiles) {
      const f = SafetensorsFile.open(path);
      const whole = readFileSync(path); // fine in a test: the fixtures are small
      let at = -1;
      for (const e of f.entries) {
        assert.equal(e.byteLength, numel(e.shape)! * dtypeSize(e.dtype), `${path} ${e.name}`);
        if (at >= 0) assert.equal(e.byteOffset, at, `${path} ${e.name}`);
        at = e.byteOffset + e.byteLength;
        assert.ok(whole.subarray(e.byteOffset, at).equals(f.readBytes(e.name)), `${path} ${e.name}`);
      }
      assert.equal(at < 0 ? f.size : at, f.size, path);
      f.close();
    }
  });

  test("every checkpoint folder opens, sharded ones through their index", () => {
    assert.ok(modelDirs.length > 0);
    for (const dir of modelDirs) {
      const ckpt = openWeights(dir);
      const indexPath = join(dir, INDEX_FILE);
      if (existsSync(indexPath)) {
        const index = JSON.parse(readFileSync(indexPath, "utf8")) as { weight_map: Record<string, string> };
        assert.deepEqual(ckpt.names().sort(), Object.keys(index.weight_map).sort(), dir);
        assert.equal(ckpt.files.length, new Set(Object.values(index.weight_map)).size, dir);
        for (const [name, shard] of Object.entries(index.weight_map)) {
          assert.equal(ckpt.info(name).file, join(dir, shard), name);
        }
        assert.equal(typeof ckpt.indexMetadata.total_size, "number");
      } else {
        assert.equal(ckpt.files.length, 1, dir);
      }
      for (const name of ckpt.names()) {
        const e = ckpt.info(name);
        const dest = new Uint8Array(e.byteLength);
        ckpt.read(name, dest);
        assert.equal(dest.byteLength, numel(e.shape)! * dtypeSize(e.dtype));
      }
      ckpt.close();
    }
  });

  test("a single file and an index file can be given directly", () => {
    const single = stFiles.find((f) => basename(f) === "golden.safetensors") ?? stFiles[0]!;
    const a = openWeights(single);
    assert.deepEqual(a.names(), SafetensorsFile.open(single).names());
    a.close();
    const b = openWeights(indexes[0]!);
    assert.ok(b.files.length >= 1);
    b.close();
  });
});

describe("Checkpoint: sharded checkpoints that contradict themselves", () => {
  /** A copy of the fixtures' first sharded checkpoint, and its parsed index. */
  function copySharded(t: { after(fn: () => void): void }) {
    const dir = join(tempDir(t), "ckpt");
    cpSync(dirname(indexes[0]!), dir, { recursive: true });
    const indexPath = join(dir, INDEX_FILE);
    const index = JSON.parse(readFileSync(indexPath, "utf8")) as {
      metadata: Record<string, unknown>;
      weight_map: Record<string, string>;
    };
    const save = () => writeFileSync(indexPath, JSON.stringify(index));
    return { dir, indexPath, index, save };
  }

  test("a shard named in the index and missing: names the shard and its first tensor", (t) => {
    const { dir, index } = copySharded(t);
    const entries = Object.entries(index.weight_map);
    const [, lastShard] = entries[entries.length - 1]!;
    const first = entries.find(([, s]) => s === lastShard)![0];
    rmSync(join(dir, lastShard));
    refuses(() => openWeights(dir), lastShard, `"${first}"`, "missing");
  });

  test("a tensor in the index but absent from its shard", (t) => {
    const { dir, index, save } = copySharded(t);
    const shard = Object.values(index.weight_map)[0]!;
    index.weight_map["ghost.weight"] = shard;
    save();
    refuses(() => openWeights(dir), '"ghost.weight"', shard, "no such tensor");
  });

  test("a tensor present in a shard but mapped elsewhere, or not mapped", (t) => {
    const { dir, index, save } = copySharded(t);
    const shards = [...new Set(Object.values(index.weight_map))];
    assert.ok(shards.length >= 2, "the sharded fixture should have two shards");
    const name = Object.keys(index.weight_map).find((k) => index.weight_map[k] === shards[0])!;
    index.weight_map[name] = shards[1]!;
    save();
    // Either side of the contradiction may be found first; both name the tensor.
    refuses(() => openWeights(dir), `"${name}"`, shards[0]!);
    delete index.weight_map[name];
    save();
    refuses(() => openWeights(dir), `"${name}"`, "not in the index");
  });

  test("a broken index, a shard outside the folder", (t) => {
    const { dir, indexPath, index, save } = copySharded(t);
    writeFileSync(indexPath, "{");
    refuses(() => openWeights(dir), indexPath, "cannot read the index");
    writeFileSync(indexPath, JSON.stringify({ weight_map: [] }));
    refuses(() => openWeights(dir), indexPath, "weight_map");
    index.weight_map["x"] = "../elsewhere.safetensors";
    save();
    refuses(() => openWeights(dir), '"x"', "outside");
  });

  test("a corrupt shard is reported with the shard's path", (t) => {
    const { dir, index } = copySharded(t);
    const shard = join(dir, Object.values(index.weight_map)[0]!);
    craft(shard, { w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8);
    refuses(() => openWeights(dir), shard, '"w"');
  });

  test("two spellings of one shard open one file", (t) => {
    const dir = tempDir(t);
    writeSafetensors(join(dir, "a.safetensors"), [
      { name: "x", dtype: "U8", shape: [2], data: pattern(2) },
      { name: "y", dtype: "U8", shape: [3], data: pattern(3) },
    ]);
    writeFileSync(
      join(dir, INDEX_FILE),
      JSON.stringify({ weight_map: { x: "a.safetensors", y: "./a.safetensors" } }),
    );
    const ckpt = openWeights(dir);
    assert.equal(ckpt.files.length, 1);
    assert.deepEqual(ckpt.readBytes("y"), pattern(3));
    ckpt.close();
  });
});

describe("Checkpoint: finding the weights", () => {
  test("a folder with both a single file and an index is ambiguous", (t) => {
    const dir = tempDir(t);
    writeSafetensors(join(dir, SINGLE_FILE), []);
    writeFileSync(join(dir, INDEX_FILE), JSON.stringify({ weight_map: {} }));
    refuses(() => openWeights(dir), dir, "ambiguous");
  });

  test("a folder with neither lists the safetensors files it has", (t) => {
    const dir = tempDir(t);
    writeSafetensors(join(dir, "weights.safetensors"), []);
    refuses(() => Checkpoint.open(dir), dir, "weights.safetensors");
  });

  test("a path that does not exist", (t) => {
    const p = join(tempDir(t), "nope");
    refuses(() => openWeights(p), p);
  });

  test("info of an unknown tensor; reads after close", (t) => {
    const dir = tempDir(t);
    writeSafetensors(join(dir, SINGLE_FILE), [{ name: "x", dtype: "U8", shape: [1], data: pattern(1) }]);
    const ckpt = openWeights(dir);
    assert.equal(ckpt.has("x"), true);
    refuses(() => ckpt.info("y"), '"y"', dir);
    ckpt.close();
    refuses(() => ckpt.readBytes("x"), "after close");
  });
});
