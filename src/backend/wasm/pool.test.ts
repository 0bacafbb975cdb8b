/**
 * The thread pool under the wasm backend: every shared kernel case with every call split over all of 3 threads
 * (however small) gives the same bits as 1 thread; a kernel that traps on a worker surfaces as an error on the
 * caller and leaves the pool usable; a process that never disposes its backend still exits by itself.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { kernelCases, setConvertRef } from "../../testing/kernel-cases.js";
import { runCase } from "../../testing/kernel-runner.js";
import { convert } from "../js/convert.js";
import { WasmBackend } from "./backend.js";

setConvertRef((src, dst, format, n) => convert(src, 0, dst, format, n));

describe("wasm thread pool", () => {
  let one: WasmBackend;
  let split: WasmBackend;
  before(async () => {
    one = await WasmBackend.create({ threads: 1 });
    split = await WasmBackend.create({ threads: 3, splitAll: true });
  });
  after(() => {
    one?.dispose();
    split?.dispose();
  });

  test("every kernel case split over 3 threads equals 1 thread bit for bit", () => {
    const bad: string[] = [];
    for (const c of kernelCases(2)) {
      const a = runCase(one, c);
      const b = runCase(split, c);
      for (const k of Object.keys(a))
        if (Buffer.compare(Buffer.from(a[k]!), Buffer.from(b[k]!)) !== 0) bad.push(`${c.name}: ${k}`);
    }
    assert.deepEqual(bad, []);
  });

  test("a trap on a worker is reported and the pool keeps working", () => {
    const p = split.heap.alloc(64);
    // The last share of this fill runs past the end of memory; the first share is in bounds.
    const n = Math.floor((split.heap.capacity - p) / 4) + 4096;
    assert.throws(() => split.fill(p, n, 1), /fill failed on thread 2|out of bounds/);
    split.fill(p, 16, 2);
    assert.equal(new Float32Array(split.heap.buffer, p, 16)[15], 2);
    split.heap.release(p);
  });

  test("features name the SIMD level and the thread count", () => {
    assert.ok(split.features.includes("simd128"));
    assert.ok(split.features.includes("threads=3"));
  });

  test("a process that never disposes its backend exits by itself", () => {
    const script = `
      const { WasmBackend } = await import(${JSON.stringify(new URL("./backend.ts", import.meta.url).href)});
      const b = await WasmBackend.create({ threads: 2, splitAll: true });
      const p = b.heap.alloc(4096);
      b.fill(p, 1024, 3);
      console.log(new Float32Array(b.heap.buffer, p, 1)[0]);`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: fileURLToPath(new URL("../../..", import.meta.url)),
      encoding: "utf8",
      timeout: 20000,
    });
    assert.equal(r.error, undefined, `did not exit: ${r.error}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "3");
  });
});
