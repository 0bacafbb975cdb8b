/**
 * Relaxed integer dot products as this runtime computes them. The q4 kernels rely on exactly one behaviour:
 * i16x8.relaxed_dot_i8x16_i7x16_s is exact when its second operand is in 0..127 (q4 nibbles are 0..15).
 * Recorded, not relied on: on x64 V8 reads a second-operand byte ≥ 128 as unsigned (pmaddubsw), and
 * i32x4.relaxed_dot_i8x16_i7x16_add_s has been seen to return 2·dot and drop the addend under Node 20's
 * baseline compiler (Liftoff) depending on register assignment, so no kernel may use it.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { WasmBackend } from "./backend.js";

test("relaxed i8×i7 dot: exact for a 7-bit second operand (what q4 uses)", async (t) => {
  const b = await WasmBackend.create({ threads: 1, relaxedSimd: true });
  try {
    if (!b.relaxed) {
      t.diagnostic("runtime has no relaxed SIMD: the plain SIMD128 kernels are used");
      assert.ok(!b.features.includes("relaxed-simd"));
      return;
    }
    assert.ok(b.features.includes("relaxed-simd"));
    assert.equal(b.relaxed.i16Exact, true);
    t.diagnostic(
      `second-operand byte ≥ 128 read as: ${b.relaxed.topBit}; i32x4 dot-add exact here: ${b.relaxed.i32AddExact}`,
    );
    if (process.arch === "x64")
      assert.equal(b.relaxed.topBit, "unsigned", "x64 V8 lowers the i7 operand to pmaddubsw's unsigned side");
  } finally {
    b.dispose();
  }
});

test("no kernel uses i32x4.relaxed_dot_i8x16_i7x16_add_s (wrong under Node 20 Liftoff)", () => {
  const dir = new URL("../../../assembly/", import.meta.url);
  for (const f of readdirSync(dir)) {
    if (!f.endsWith(".ts") || f === "probe.ts") continue;
    const src = readFileSync(new URL(f, dir), "utf8");
    assert.ok(!src.includes("relaxed_dot_i8x16_i7x16_add_s"), `assembly/${f} uses the i32x4 relaxed dot-add`);
  }
});
