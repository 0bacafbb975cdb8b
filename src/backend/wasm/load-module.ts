/**
 * Finding and compiling the kernel module: kernels-relaxed.wasm when the runtime has relaxed SIMD, else
 * kernels.wasm. Where the bytes come from is kernel-bytes.ts (disk on Node.js, fetched in a browser); the relaxed
 * module is used only if it validates (after turning the runtime's flag on where there is one). Compiled modules
 * are cached per process.
 */
import { enableRelaxedSimd, readKernels } from "./kernel-bytes.js";

export interface KernelModule {
  module: WebAssembly.Module;
  relaxed: boolean;
}

const cache = new Map<boolean, Promise<KernelModule>>();

async function load(wantRelaxed: boolean): Promise<KernelModule> {
  if (wantRelaxed) {
    const bytes = await readKernels("kernels-relaxed.wasm");
    if (!WebAssembly.validate(bytes)) enableRelaxedSimd();
    if (WebAssembly.validate(bytes)) return { module: await WebAssembly.compile(bytes), relaxed: true };
  }
  return { module: await WebAssembly.compile(await readKernels("kernels.wasm")), relaxed: false };
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
