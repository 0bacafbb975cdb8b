/** Element-wise kernels (reference): fill, broadcast add/mul, scale, axpy, strided copy. */
import type { FloatArray } from "./arrays.js";

export function fill(out: FloatArray, n: number, value: number): void {
  for (let i = 0; i < n; i++) out[i] = value;
}

export function add(a: FloatArray, b: FloatArray, out: FloatArray, n: number, bn: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i]! + b[i % bn]!;
}

export function mul(a: FloatArray, b: FloatArray, out: FloatArray, n: number, bn: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i]! * b[i % bn]!;
}

export function scale(a: FloatArray, out: FloatArray, n: number, s: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i]! * s;
}

export function axpy(y: FloatArray, x: FloatArray, n: number, alpha: number): void {
  for (let i = 0; i < n; i++) y[i] = y[i]! + alpha * x[i]!;
}

/** dst ← src viewed with shape/strides (both length 4, in elements); works on any element width via views. */
export function copyStrided(
  src: { [i: number]: number },
  dst: { [i: number]: number },
  shape: readonly number[],
  strides: readonly number[],
): void {
  const [d0, d1, d2, d3] = shape as [number, number, number, number];
  const [s0, s1, s2, s3] = strides as [number, number, number, number];
  let o = 0;
  for (let i0 = 0; i0 < d0; i0++)
    for (let i1 = 0; i1 < d1; i1++)
      for (let i2 = 0; i2 < d2; i2++) {
        const base = i0 * s0 + i1 * s1 + i2 * s2;
        for (let i3 = 0; i3 < d3; i3++) dst[o++] = src[base + i3 * s3]!;
      }
}
