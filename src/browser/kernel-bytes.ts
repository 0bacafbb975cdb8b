/**
 * The browser build's kernel bytes (it replaces src/backend/wasm/kernel-bytes.ts): kernels*.wasm fetched from
 * beside the bundle. A browser has relaxed SIMD or not; there is no flag to set, validation decides.
 */
export async function readKernels(name: string): Promise<ArrayBuffer> {
  const url = new URL(name, import.meta.url);
  const r = await fetch(url);
  if (!r.ok) throw new Error(`cannot fetch the kernels at ${url.href}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

export function enableRelaxedSimd(): void {}
