/**
 * What the runtime's relaxed integer dot products actually compute (their results are implementation-defined
 * when the 7-bit operand has its top bit set). The q4 kernels rely only on i16x8.relaxed_dot_i8x16_i7x16_s
 * with the second operand in 0..127, which every implementation must compute exactly; this probe checks that,
 * and records the rest: whether a top-bit-set "i7" lane is read as unsigned (x64 pmaddubsw) or signed, and
 * whether i32x4.relaxed_dot_i8x16_i7x16_add_s is right (Node 20's V8 11.3 on x64 was seen to return twice the
 * dot product and drop the addend, so no kernel uses it).
 */
import type { Heap } from "../heap.js";

export interface RelaxedDotBehaviour {
  /** i16x8 dot with the second operand in 0..127 is exact (what the kernels use). */
  i16Exact: boolean;
  /** How a second-operand byte ≥ 128 is read by the i16x8 dot: "unsigned", "signed" or "other". */
  topBit: "unsigned" | "signed" | "other";
  /** i32x4 dot-add with the second operand in 0..127 is exact. */
  i32AddExact: boolean;
}

type Probe = (a: number, b: number, c: number, out: number) => number;

/** Runs the module's relaxedDotProbe export on test vectors; null when the module has no relaxed SIMD. */
export function probeRelaxedDot(probe: Probe, heap: Heap): RelaxedDotBehaviour | null {
  const p = heap.alloc(80);
  try {
    const a = new Int8Array(heap.buffer, p, 16);
    const b = new Int8Array(heap.buffer, p + 16, 16);
    const c = new Int32Array(heap.buffer, p + 32, 4);
    const run = (av: number[], bv: number[], cv: number[]): { i16: number[]; i32: number[] } | null => {
      a.set(av);
      b.set(bv);
      c.set(cv);
      if (probe(p, p + 16, p + 32, p + 48) === 0) return null;
      return {
        i16: [...new Int16Array(heap.buffer, p + 48, 8)],
        i32: [...new Int32Array(heap.buffer, p + 64, 4)],
      };
    };
    const av = [-128, 127, -1, 5, -77, 100, 3, -3, 64, -64, 0, 1, -100, 99, 42, -42];
    const bv = [127, 127, 0, 15, 1, 7, 126, 2, 64, 3, 9, 127, 100, 0, 31, 8];
    const cv = [5, -6, 1000, -70000];
    const r = run(av, bv, cv);
    if (!r) return null;
    let i16Exact = true;
    for (let i = 0; i < 8; i++)
      if (r.i16[i] !== av[2 * i]! * bv[2 * i]! + av[2 * i + 1]! * bv[2 * i + 1]!) i16Exact = false;
    let i32AddExact = true;
    for (let i = 0; i < 4; i++) {
      let s = cv[i]!;
      for (let j = 0; j < 4; j++) s += av[4 * i + j]! * bv[4 * i + j]!;
      if (r.i32[i] !== s) i32AddExact = false;
    }
    const top = run(new Array(16).fill(-1), new Array(16).fill(-1), [0, 0, 0, 0])!;
    const topBit = top.i16[0] === -510 ? "unsigned" : top.i16[0] === 2 ? "signed" : "other";
    return { i16Exact, topBit, i32AddExact };
  } finally {
    heap.release(p);
  }
}
