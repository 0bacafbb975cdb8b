import assert from "node:assert/strict";
import { truncateSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { craft, pattern, tempDir } from "../../testing/safetensors-files.js";
import { CheckpointError } from "../../util/errors.js";
import { SafetensorsFile } from "./file.js";

/** A file with tensors a (U8 [n]) and b (F32 [2]) whose bytes follow a known pattern. */
function twoTensors(dir: string, n: number): { path: string; a: Uint8Array; b: Uint8Array } {
  const a = pattern(n, 1);
  const b = pattern(8, 2);
  const header = {
    a: { dtype: "U8", shape: [n], data_offsets: [0, n] },
    b: { dtype: "F32", shape: [2], data_offsets: [n, n + 8] },
  };
  const data = new Uint8Array(n + 8);
  data.set(a, 0);
  data.set(b, n);
  return { path: craft(join(dir, "t.safetensors"), header, data), a, b };
}

describe("SafetensorsFile", () => {
  test("reads each tensor into a destination, in chunks of any size", (t) => {
    const { path, a, b } = twoTensors(tempDir(t), 100_003);
    for (const chunkBytes of [1, 7, 4096, 1 << 30]) {
      const f = SafetensorsFile.open(path, { chunkBytes });
      const dest = new Uint8Array(a.byteLength);
      // 1-byte chunks over 100 KB would be slow; use them on the small tensor only.
      if (chunkBytes > 1) {
        f.read("a", dest);
        assert.deepEqual(dest, a);
      }
      assert.deepEqual(f.readBytes("b"), b);
      assert.deepEqual(f.names(), ["a", "b"]);
      f.close();
    }
  });

  test("reads into shared WebAssembly memory past 2 GiB", (t) => {
    const { path, b } = twoTensors(tempDir(t), 16);
    let memory: WebAssembly.Memory;
    try {
      memory = new WebAssembly.Memory({ initial: 32769, maximum: 32769, shared: true }); // 2 GiB + 64 KiB
    } catch (e) {
      t.skip(`cannot reserve a 2 GiB memory here: ${(e as Error).message}`);
      return;
    }
    const at = 2 ** 31 + 12345;
    const f = SafetensorsFile.open(path, { chunkBytes: 3 });
    f.read("b", new Uint8Array(memory.buffer, at, 8));
    f.close();
    assert.deepEqual(new Uint8Array(memory.buffer, at, 8).slice(), b);
    assert.equal(new Uint8Array(memory.buffer, at - 1, 1)[0], 0);
  });

  test("refuses a destination of the wrong size, an unknown tensor, a read after close", (t) => {
    const { path } = twoTensors(tempDir(t), 4);
    const f = SafetensorsFile.open(path);
    assert.throws(
      () => f.read("b", new Uint8Array(7)),
      (e: unknown) => {
        assert.ok(e instanceof CheckpointError);
        assert.match(e.message, /tensor "b" is 8 bytes \(F32 \[2\]\), but the destination holds 7/);
        assert.ok(e.message.includes(path));
        return true;
      },
    );
    assert.throws(() => f.info("nope"), /no tensor "nope"/);
    assert.equal(f.has("a"), true);
    assert.equal(f.has("nope"), false);
    f.close();
    f.close();
    assert.throws(() => f.readBytes("a"), /after close/);
  });

  test("a file truncated after open fails on read, naming file and tensor", (t) => {
    const { path } = twoTensors(tempDir(t), 64);
    const f = SafetensorsFile.open(path);
    truncateSync(path, f.size - 4);
    assert.throws(
      () => f.readBytes("b"),
      (e: unknown) => {
        assert.ok(e instanceof CheckpointError);
        assert.ok(e.message.includes(path) && e.message.includes('"b"'), e.message);
        return true;
      },
    );
    f.close();
  });

  test("a missing file is a CheckpointError", (t) => {
    const p = join(tempDir(t), "nope.safetensors");
    assert.throws(
      () => SafetensorsFile.open(p),
      (e: unknown) => e instanceof CheckpointError && e.message.includes(p),
    );
  });
});
