/**
 * The browser build's kernel module (it replaces src/backend/wasm/load-module.ts): kernels.wasm, or the relaxed-SIMD
 * build when the browser validates it, fetched from beside the bundle.
 */
export interface KernelModule {
  module: WebAssembly.Module;
  relaxed: boolean;
}

const cache = new Map<boolean, Promise<KernelModule>>();

async function fetchBytes(name: string): Promise<ArrayBuffer> {
  const url = new URL(name, import.meta.url);
  const r = await fetch(url);
  if (!r.ok) throw new Error(`cannot fetch the kernels at ${url.href}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

async function load(wantRelaxed: boolean): Promise<KernelModule> {
  if (wantRelaxed) {
    const bytes = await fetchBytes("kernels-relaxed.wasm");
    if (WebAssembly.validate(bytes)) return { module: await WebAssembly.compile(bytes), relaxed: true };
  }
  return { module: await WebAssembly.compile(await fetchBytes("kernels.wasm")), relaxed: false };
}

export function loadKernelModule(wantRelaxed: boolean): Promise<KernelModule> {
  let p = cache.get(wantRelaxed);
  if (!p) {
    p = load(wantRelaxed);
    cache.set(wantRelaxed, p);
    p.catch(() => cache.delete(wantRelaxed));
  }
  return p;
}
