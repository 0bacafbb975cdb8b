// The browser build's stand-ins for node:path and node:fs (in-memory bytes; Blob entries need a worker's
// FileReaderSync and are covered by the in-tab test in src/serve/web.test.ts) against Node's own behaviour.
import assert from "node:assert/strict";
import * as nodePath from "node:path";
import { test } from "node:test";
import * as path from "./path.js";
import * as fs from "./vfs.js";

test("path: join, resolve, dirname, basename, extname, relative as node:path.posix", () => {
  const posix = nodePath.posix;
  for (const args of [
    ["/model", "config.json"],
    ["a", "b/../c", "./d"],
    ["/a/", "/b"],
    ["", "x"],
    ["..", "a"],
  ])
    assert.equal(path.join(...args), posix.join(...args), `join ${args}`);
  for (const args of [["/model", "x"], ["/a", "b", "../c"], ["/a", "/b", "c/"], ["x"]])
    assert.equal(path.resolve(...args), posix.resolve("/", ...args), `resolve ${args}`);
  for (const p of ["/model/config.json", "/model/", "/", "a/b", "file", "/a/b.tar.gz"]) {
    assert.equal(path.dirname(p), posix.dirname(p), `dirname ${p}`);
    assert.equal(path.basename(p), posix.basename(p), `basename ${p}`);
    assert.equal(path.extname(p), posix.extname(p), `extname ${p}`);
  }
  assert.equal(path.basename("/m/model.safetensors", ".safetensors"), "model");
  for (const [a, b] of [
    ["/model", "/model/x/y"],
    ["/a/b", "/a/c"],
    ["/a", "/a"],
  ])
    assert.equal(path.relative(a, b), posix.relative(a, b), `relative ${a} ${b}`);
  assert.equal(path.isAbsolute("/x"), true);
  assert.equal(path.isAbsolute("x"), false);
});

test("fs: a read-only table of files with folders, stat, listing and positioned reads", async () => {
  fs.clearFiles();
  fs.addFile("/model/config.json", new TextEncoder().encode('{"a":1}'));
  fs.addFile("/model/sub/w.bin", Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]));
  assert.equal(fs.existsSync("/model"), true);
  assert.equal(fs.existsSync("/model/config.json"), true);
  assert.equal(fs.existsSync("/model/nope.json"), false);
  assert.equal(fs.statSync("/model").isDirectory(), true);
  assert.equal(fs.statSync("/model/sub/w.bin").size, 8);
  assert.deepEqual(fs.readdirSync("/model"), ["config.json", "sub"]);
  assert.deepEqual(await fs.readdir("/model/sub"), ["w.bin"]);
  assert.equal(fs.readFileSync("/model/./config.json", "utf8"), '{"a":1}');
  assert.equal(await fs.readFile("/model/config.json", { encoding: "utf8" }), '{"a":1}');
  const fd = fs.openSync("/model/sub/w.bin");
  const buf = new Uint8Array(4);
  assert.equal(fs.readSync(fd, buf, 1, 3, 6), 2, "a read past the end stops at it");
  assert.deepEqual([...buf], [0, 6, 7, 0]);
  assert.equal(fs.fstatSync(fd).size, 8);
  fs.closeSync(fd);
  assert.throws(() => fs.readSync(fd, buf, 0, 1, 0), /EBADF/);
  assert.throws(
    () => fs.readFileSync("/model/missing"),
    (e: Error & { code?: string }) => e.code === "ENOENT",
  );
  assert.throws(() => fs.writeFileSync(), /reads models only/);
  fs.clearFiles("/model/sub");
  assert.equal(fs.existsSync("/model/sub"), false);
  assert.equal(fs.existsSync("/model/config.json"), true);
  fs.clearFiles();
});
