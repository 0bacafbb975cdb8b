/**
 * The kernels' bytes on Node.js: build/kernels*.wasm read from disk, and the V8 flag that turns relaxed SIMD on
 * in Node 20 (process-wide, so workers see it too). The only Node-specific part of loading the kernels; the
 * browser build swaps this file for src/browser/kernel-bytes.ts (fetched beside the bundle).
 */
import { readFile } from "node:fs/promises";
import { setFlagsFromString } from "node:v8";

const BUILD = new URL("../../../build/", import.meta.url);

export async function readKernels(name: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    const buf = await readFile(new URL(name, BUILD));
    return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
  } catch (err) {
    throw new Error(`cannot read the kernels at ${new URL(name, BUILD).pathname}: run npm run build:wasm`, {
      cause: err,
    });
  }
}

/** Node 20's V8 has relaxed SIMD behind --experimental-wasm-relaxed-simd; newer runtimes have it on. */
export function enableRelaxedSimd(): void {
  try {
    setFlagsFromString("--experimental-wasm-relaxed-simd");
  } catch {
    // Not V8 or the flag is gone (newer runtimes have relaxed SIMD on by default): validate decides.
  }
}
