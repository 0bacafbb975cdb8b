#!/usr/bin/env node
// Builds the WebAssembly kernels from AssemblyScript (assembly/) into build/:
//   build/kernels.wasm          SIMD128 + threads (shared imported memory): runs everywhere
//   build/kernels-relaxed.wasm  the same plus relaxed SIMD (FMA, int8 dot), chosen at run time when available
// Both import `env.memory` (a shared WebAssembly.Memory of up to 4 GiB) and allocate nothing themselves.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
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
];
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
  console.log(`build-wasm: wrote ${v.out}`);
}
