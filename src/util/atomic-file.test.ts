/** Atomic outputs: a file or a folder is replaced whole or not at all, and a failed write leaves nothing behind. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  copyAtomic,
  writeAtomic,
  writeFileAtomic,
  writeFolderAtomic,
  writeJsonAtomic,
} from "./atomic-file.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-atomic-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("writeAtomic / writeJsonAtomic / copyAtomic write the content and leave no temporary file", () => {
  const d = join(tmp, "files");
  mkdirSync(d);
  writeAtomic(join(d, "a.txt"), "héllo\n");
  writeAtomic(join(d, "b.bin"), new Uint8Array([1, 2, 3]));
  writeJsonAtomic(join(d, "c.json"), { x: [1, 2] });
  copyAtomic(join(d, "b.bin"), join(d, "d.bin"));
  writeAtomic(join(d, "a.txt"), "replaced");
  assert.equal(readFileSync(join(d, "a.txt"), "utf8"), "replaced");
  assert.deepEqual([...readFileSync(join(d, "d.bin"))], [1, 2, 3]);
  assert.equal(readFileSync(join(d, "c.json"), "utf8"), '{\n  "x": [\n    1,\n    2\n  ]\n}\n');
  assert.deepEqual(readdirSync(d).sort(), ["a.txt", "b.bin", "c.json", "d.bin"]);
});

test("a failing writer leaves the old file in place and no temporary file", () => {
  const d = join(tmp, "fail");
  mkdirSync(d);
  writeFileSync(join(d, "out.txt"), "old");
  assert.throws(
    () =>
      writeFileAtomic(join(d, "out.txt"), (f) => {
        f.write(new TextEncoder().encode("half"));
        throw new Error("disk full");
      }),
    /disk full/,
  );
  assert.equal(readFileSync(join(d, "out.txt"), "utf8"), "old");
  assert.deepEqual(readdirSync(d), ["out.txt"]);
});

test("writeFolderAtomic replaces a folder whole, or leaves it as it was when filling fails", () => {
  const out = join(tmp, "folder");
  assert.equal(
    writeFolderAtomic(out, (dir) => {
      writeAtomic(join(dir, "one"), "1");
      return 7;
    }),
    7,
  );
  writeFolderAtomic(out, (dir) => writeAtomic(join(dir, "two"), "2"));
  assert.deepEqual(readdirSync(out), ["two"]);
  assert.throws(
    () =>
      writeFolderAtomic(out, (dir) => {
        writeAtomic(join(dir, "three"), "3");
        throw new Error("killed");
      }),
    /killed/,
  );
  assert.deepEqual(readdirSync(out), ["two"]);
  assert.deepEqual(readdirSync(tmp).sort(), ["files", "fail", "folder"].sort());
});
