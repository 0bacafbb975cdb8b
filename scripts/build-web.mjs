// Builds the in-tab engine (npm install runs it after the kernels): src/browser/engine-worker.ts and the kernel
// worker bundled by esbuild into build/web/, with Node's modules swapped for the browser's (src/browser/*), and
// the kernels and image decoders' WebAssembly beside them. `imp serve` serves the folder at /engine/.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "build", "web");
const browser = join(root, "src", "browser");

const NODE_MODULES = {
  "node:fs": "vfs.ts",
  "node:fs/promises": "vfs.ts",
  "node:path": "path.ts",
  "node:os": "os.ts",
  "node:crypto": "crypto.ts",
};
// Imported only on Node.js code paths (wasm-codec.ts's package lookup): left as imports that never run.
const NODE_ONLY = new Set(["node:module", "node:url"]);
// Files of the library replaced whole in the browser (their Node.js-only counterparts).
const SWAPPED = { "node-threads": "threads.ts", "kernel-bytes": "kernel-bytes.ts" };

const swap = {
  name: "imp-browser",
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => {
      if (NODE_ONLY.has(args.path)) return { path: args.path, external: true };
      const file = NODE_MODULES[args.path];
      if (!file)
        return { errors: [{ text: `${args.path} has no browser version (imported by ${args.importer})` }] };
      return { path: join(browser, file) };
    });
    // A Hub id is pulled by Node.js (`imp pull`); in the tab a model is a folder the page picked or the server serves.
    b.onResolve({ filter: /\/models\/source\.js$/ }, () => ({ path: join(browser, "model-source.ts") }));
    b.onResolve({ filter: /\/(node-threads|kernel-bytes)\.js$/ }, (args) => {
      if (!args.importer.includes(join("src", "backend", "wasm"))) return undefined;
      const name = args.path.match(/(node-threads|kernel-bytes)\.js$/)[1];
      return { path: join(browser, SWAPPED[name]) };
    });
  },
};

mkdirSync(out, { recursive: true });
await build({
  entryPoints: {
    "engine-worker": join(browser, "engine-worker.ts"),
    "kernel-worker": join(browser, "kernel-worker.ts"),
  },
  outdir: out,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  plugins: [swap],
  define: { "process.env.IMP_THREADS": "undefined", "process.env.IMP_INT_PRODUCTS": "undefined" },
  logLevel: "warning",
});
for (const f of ["kernels.wasm", "kernels-relaxed.wasm"]) copyFileSync(join(root, "build", f), join(out, f));
// The JPEG and WebP decoders (jSquash) fetch their WebAssembly from beside the script that bundles them.
for (const f of ["jpeg/codec/dec/mozjpeg_dec.wasm", "webp/codec/dec/webp_dec.wasm"])
  copyFileSync(join(root, "node_modules", "@jsquash", f), join(out, f.split("/").pop()));
console.log(`in-tab engine → ${out}`);
