/** Runs a KernelCase on a backend and compares outputs (shared by the kernel parity tests). */
import type { Backend } from "../backend/backend.js";
import { Rng } from "../util/random.js";
import type { KernelCase } from "./kernel-cases.js";

export type CaseOutputs = Record<string, Uint8Array>;

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function runCase(b: Backend, c: KernelCase): CaseOutputs {
  const ptrs: Record<string, number> = {};
  const sizes: Record<string, number> = {};
  try {
    for (const [name, input] of Object.entries(c.inputs)) {
      const bytes = new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength);
      const p = b.heap.alloc(Math.max(bytes.length, 1));
      new Uint8Array(b.heap.buffer, p, bytes.length).set(bytes);
      ptrs[name] = p;
    }
    const init = new Rng(hash(c.name));
    for (const [name, size] of Object.entries(c.outputs)) {
      const p = b.heap.alloc(size);
      sizes[name] = size;
      const view = new Float32Array(b.heap.buffer, p, size >> 2);
      for (let i = 0; i < view.length; i++) view[i] = init.normal();
      ptrs[name] = p;
    }
    c.run(b, ptrs);
    const out: CaseOutputs = {};
    for (const name of Object.keys(c.outputs))
      out[name] = new Uint8Array(b.heap.buffer, ptrs[name], sizes[name]).slice();
    return out;
  } finally {
    for (const p of Object.values(ptrs)) b.heap.release(p);
  }
}

/** Returns null when within tolerance, else a description of the worst difference. */
export function compareOutputs(c: KernelCase, ref: CaseOutputs, got: CaseOutputs): string | null {
  for (const name of Object.keys(ref)) {
    const kind = c.outputKinds?.[name] ?? "f32";
    const a = ref[name]!;
    const b = got[name]!;
    if (kind === "bytes" || c.tol === 0) {
      for (let i = 0; i < a.length; i++)
        if (a[i] !== b[i]) {
          if (kind === "f32") {
            const fa = new Float32Array(a.buffer, a.byteOffset, a.length >> 2);
            const fb = new Float32Array(b.buffer, b.byteOffset, b.length >> 2);
            const e = i >> 2;
            return `${name}[${e}]: expected ${fa[e]} got ${fb[e]} (bit-exact required)`;
          }
          return `${name} byte ${i}: expected ${a[i]} got ${b[i]} (bit-exact required)`;
        }
      continue;
    }
    const fa = new Float32Array(a.buffer, a.byteOffset, a.length >> 2);
    const fb = new Float32Array(b.buffer, b.byteOffset, b.length >> 2);
    let maxRef = 0;
    let maxErr = 0;
    let at = -1;
    for (let i = 0; i < fa.length; i++) {
      if (Number.isNaN(fa[i]!) !== Number.isNaN(fb[i]!))
        return `${name}[${i}]: expected ${fa[i]} got ${fb[i]}`;
      if (Number.isNaN(fa[i]!)) continue;
      maxRef = Math.max(maxRef, Math.abs(fa[i]!));
      const e = Math.abs(fa[i]! - fb[i]!);
      if (!(e <= maxErr)) {
        maxErr = e;
        at = i;
      }
    }
    const rel = maxErr / Math.max(maxRef, 1e-30);
    if (!(rel <= c.tol))
      return `${name}: max |diff| / max |ref| = ${rel.toExponential(2)} > ${c.tol} (at ${at}: expected ${fa[at]} got ${fb[at]})`;
  }
  return null;
}
