/**
 * Every kernel of every backend against the js reference on random inputs of awkward shapes, with the stated
 * per-case tolerance; and the wasm backend on 1 and 3 threads, which must agree bit for bit.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { kernelCases, setConvertRef } from "../testing/kernel-cases.js";
import { compareOutputs, runCase } from "../testing/kernel-runner.js";
import type { Backend } from "./backend.js";
import { convert } from "./js/convert.js";
import { createBackend } from "./registry.js";

setConvertRef((src, dst, format, n) => convert(src, 0, dst, format, n));
const cases = kernelCases();

describe("wasm kernels match the js reference", () => {
  let js: Backend;
  let wasm1: Backend;
  let wasm3: Backend;
  before(async () => {
    js = await createBackend("js");
    wasm1 = await createBackend("wasm", { threads: 1 });
    wasm3 = await createBackend("wasm", { threads: 3 });
  });
  after(() => {
    wasm1?.dispose();
    wasm3?.dispose();
  });
  for (const c of cases) {
    test(c.name, () => {
      const ref = runCase(js, c);
      const one = runCase(wasm1, c);
      const diff = compareOutputs(c, ref, one);
      assert.equal(diff, null, `wasm vs js: ${diff}`);
      const three = runCase(wasm3, c);
      for (const k of Object.keys(one))
        assert.deepEqual(three[k], one[k], `${k}: 3 threads differ from 1 thread`);
    });
  }
});

// The integer products have separate code for relaxed and plain SIMD128 builds (the relaxed i8×i7 dot): the
// plain build, which the tests above do not load where the runtime has relaxed SIMD, is checked on them too.
describe("plain SIMD128 integer products match the js reference", () => {
  let js: Backend;
  let plain1: Backend;
  let plain3: Backend;
  before(async () => {
    js = await createBackend("js");
    plain1 = await createBackend("wasm", { threads: 1, relaxedSimd: false });
    plain3 = await createBackend("wasm", { threads: 3, relaxedSimd: false });
  });
  after(() => {
    plain1?.dispose();
    plain3?.dispose();
  });
  for (const c of cases.filter((c) => c.name.startsWith("linearQuant"))) {
    test(c.name, () => {
      const ref = runCase(js, c);
      const one = runCase(plain1, c);
      const diff = compareOutputs(c, ref, one);
      assert.equal(diff, null, `plain wasm vs js: ${diff}`);
      const three = runCase(plain3, c);
      for (const k of Object.keys(one))
        assert.deepEqual(three[k], one[k], `${k}: 3 threads differ from 1 thread`);
    });
  }
});
