#!/usr/bin/env node
// Builds the WebAssembly kernels from AssemblyScript (assembly/) into build/:
//   build/kernels.wasm          SIMD128 + threads (shared imported memory): runs everywhere
//   build/kernels-relaxed.wasm  the same plus relaxed SIMD (FMA, int8 dot), chosen at run time when available
// Both import `env.memory` (a shared WebAssembly.Memory of up to 4 GiB) and allocate nothing themselves.
// Several instances (one per thread) share that memory, so the modules must carry no data segments (each
// instantiation would rewrite them): checked after the build. Below --memoryBase (64 KiB) lies the threads'
// control block (src/backend/wasm/control.ts); the heap starts at it.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);
const asc = join(dirname(require.resolve("assemblyscript/package.json")), "bin", "asc.js");
mkdirSync(join(root, "build"), { recursive: true });

const common = [
  "assembly/index.ts",
  "--runtime",
  "stub",
  "-O3",
  "--noAssert",
  "--importMemory",
  "--sharedMemory",
  "--initialMemory",
  "32",
  "--maximumMemory",
  "65536",
  "--memoryBase",
  "65536",
  // AS112: v128 parameters of functions exported from a file (not from the module), inlined or internal.
  "--disableWarning",
  "112",
];

/** Section ids present in a wasm binary. */
function sections(bytes) {
  const ids = [];
  let p = 8;
  while (p < bytes.length) {
    const id = bytes[p++];
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[p++];
      size |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    ids.push(id);
    p += size;
  }
  return ids;
}
const variants = [
  { out: "build/kernels.wasm", features: "simd,threads" },
  { out: "build/kernels-relaxed.wasm", features: "simd,threads,relaxed-simd" },
];
for (const v of variants) {
  const r = spawnSync(process.execPath, [asc, ...common, "--enable", v.features, "--outFile", v.out], {
    cwd: root,
    stdio: "inherit",
  });
  if (r.status !== 0) {
    console.error(`build-wasm: asc failed for ${v.out}`);
    process.exit(r.status ?? 1);
  }
  const ids = sections(readFileSync(join(root, v.out)));
  if (ids.includes(11)) {
    console.error(
      `build-wasm: ${v.out} has a data section: kernels must not use static data (strings, arrays)`,
    );
    process.exit(1);
  }
  console.log(`build-wasm: wrote ${v.out}`);
}
