/**
 * Finding and compiling the kernel module (Node.js): build/kernels-relaxed.wasm when the runtime has relaxed
 * SIMD, else build/kernels.wasm. Node 20's V8 has relaxed SIMD behind --experimental-wasm-relaxed-simd;
 * the flag is set from here (process-wide, so workers see it too) before anything is compiled, and the
 * relaxed module is used only if it then validates. Compiled modules are cached per process.
 */
import { readFile } from "node:fs/promises";
import { setFlagsFromString } from "node:v8";

const BUILD = new URL("../../../build/", import.meta.url);

export interface KernelModule {
  module: WebAssembly.Module;
  relaxed: boolean;
}

const cache = new Map<boolean, Promise<KernelModule>>();

async function read(name: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    const buf = await readFile(new URL(name, BUILD));
    return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
  } catch (err) {
    throw new Error(`cannot read the kernels at ${new URL(name, BUILD).pathname}: run npm run build:wasm`, {
      cause: err,
    });
  }
}

async function load(wantRelaxed: boolean): Promise<KernelModule> {
  if (wantRelaxed) {
    const bytes = await read("kernels-relaxed.wasm");
    if (!WebAssembly.validate(bytes)) {
      try {
        setFlagsFromString("--experimental-wasm-relaxed-simd");
      } catch {
        // Not V8 or the flag is gone (newer runtimes have relaxed SIMD on by default): validate decides.
      }
    }
    if (WebAssembly.validate(bytes)) return { module: await WebAssembly.compile(bytes), relaxed: true };
  }
  return { module: await WebAssembly.compile(await read("kernels.wasm")), relaxed: false };
}

/** The compiled kernels: relaxed SIMD when asked for and available, else plain SIMD128. */
export function loadKernelModule(wantRelaxed: boolean): Promise<KernelModule> {
  let p = cache.get(wantRelaxed);
  if (!p) {
    p = load(wantRelaxed);
    cache.set(wantRelaxed, p);
    p.catch(() => cache.delete(wantRelaxed));
  }
  return p;
}
